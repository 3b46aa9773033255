"""Building blocks for running Callister as several processes over NATS and PostgreSQL.

- `codec`: bytes for everything that crosses the bus between processes.
- `nats_bus`: `NatsBus`, the `server.bus.Bus` interface over NATS.
- `leases`: zone ownership as leases in a JetStream key-value bucket; `LeaseKeeper`.
- `fencing`: zone state in the database that a worker without the lease cannot write.
- `outbox`: jump hand-offs between workers, exactly once.
- `placement`: which worker owns which zone; the states of a live move.

docs/deploy.md says how they fit together into `callister worker` / `callister gateway`.
"""
