"""A separate process for the multi-process store tests (not a test module itself).

python store_worker.py reserve URL N      reserve N blocks; print each as "start stop"
python store_worker.py write URL ACCOUNTS save a batch of characters for ACCOUNTS accounts
                                          per iteration, forever; print the iteration
                                          number only after characters.save_many returned
"""

from __future__ import annotations

import sys

from callister.store import Character, open_store


def reserve(url: str, blocks: int) -> None:
    store = open_store(url)
    print("ready", flush=True)
    sys.stdin.readline()  # start line: both processes begin together
    out = []
    for n in range(blocks):
        r = store.characters.reserve_ids(1 + n % 13)
        out.append(f"{r.start} {r.stop}")
    print("\n".join(out), flush=True)
    store.db.close()


def write(url: str, accounts: int, prefix: str) -> None:
    store = open_store(url)
    ids = []
    for n in range(accounts):
        account = store.accounts.by_name(f"pilot{n}") or store.accounts.create(f"pilot{n}", "h")
        ids.append(account.id)
    i = 0
    while True:
        batch = [
            Character(
                account_id=account_id,
                world=f"{prefix}{i}",
                ship_id=i,
                hull="shuttle",
                system_x=i,
                system_y=-i,
                x=i / 3,
                y=0.0,
                vx=0.0,
                vy=0.0,
                angle=0.0,
                docked_at=None,
                home_x=0,
                home_y=0,
                home_station=0,
                extra={"i": i, "pad": "x" * 200},
            )
            for account_id in ids
        ]
        store.characters.save_many(batch)
        print(i, flush=True)  # committed: the store returned
        i += 1


if __name__ == "__main__":
    if sys.argv[1] == "reserve":
        reserve(sys.argv[2], int(sys.argv[3]))
    else:
        write(sys.argv[2], int(sys.argv[3]), sys.argv[4])
