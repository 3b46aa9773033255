"""HTTP routes for clones of players' profiles: consent, making, exporting and claiming.

- `POST /api/clones/consent` {"grantee": name|null}: the caller allows clones of their own
  profile (by the named account, or anyone); `GET` lists their consents; `DELETE
  /api/clones/consent/{id}` revokes one: the clones under it are unlicensed at once (the store
  computes licences on every read; the live ones in this world are updated here).
- `POST /api/clones` {"subject": name, "role"}: make a clone of a player's profile, owned by the
  caller; licensed only if the subject recorded consent for the caller (or anyone), otherwise it
  is made but marked *unlicensed* everywhere it shows. A player cloning themselves records their
  own consent (subject = grantee = themselves). `GET /api/clones`: the caller's clones.
- `POST /api/clones/{id}/export`: the owner gets the signed clone file (with a licence proof
  when a consent record of this server licenses it) and a fresh claim code, shown once.
- `POST /api/clones/{id}/claim` {"code"}: an unowned imported clone becomes the caller's when the
  code is its claim code (docs/agents.md, "Licences and trust").
- `GET /api/admin/clones?licence=unlicensed`: every clone of the world, administrators only (like
  every /api/admin/ route); moderators read the same list at `GET /api/mod/clones`
  (server/moderation_routes.py).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from aiohttp import web

from callister.agents import Clone, Licence, Profile, Role
from callister.agents.clonefile import claim_matches, export_clone, new_claim_code
from callister.agents.repository import CloneNotFound
from callister.server.http import SERVICES, current_account, error, json_body, require_role
from callister.store import CloneFilter, CloneInfo

ROLE_NAMES = tuple(r.value for r in Role)


def _info(c: CloneInfo) -> dict[str, Any]:
    return {
        "id": str(c.id),
        "name": c.name,
        "world": c.world,
        "role": c.role,
        "goal": c.goal,
        "ship": c.ship_id,
        "owner": c.owner_id,
        "subject": c.subject_id,
        "licence": c.licence,
        "unlicensed": c.licence == "unlicensed",
        "home": c.licence_home,
        "alive": c.alive,
        "died_tick": c.died_tick,
        "death_cause": c.death_cause,
        "memories": c.memories,
    }


async def world_clones(services: Any, licence: str | None) -> web.Response:
    """Every clone of the services' world, optionally only those of one licence kind."""
    if licence is not None and licence not in ("generated", "licensed", "unlicensed"):
        return error(400, "BAD_FIELD", "licence must be generated, licensed or unlicensed")
    rows = await services.writer.call(
        services.store.clones.find, CloneFilter(world=services.world.name), 10_000
    )
    return web.json_response(
        {"clones": [_info(c) for c in rows if licence is None or c.licence == licence]}
    )


def register(app: web.Application) -> None:
    """Add this module's routes to the application (called once by app.build_app)."""

    async def consent_post(request: web.Request) -> web.Response:
        services = request.app[SERVICES]
        account = await current_account(request)
        body = await json_body(request)
        grantee_name = body.get("grantee")
        grantee = None
        if grantee_name is not None:
            if not isinstance(grantee_name, str) or not grantee_name:
                return error(400, "BAD_FIELD", "'grantee' must be an account name or null")
            found = await services.writer.call(services.store.accounts.by_name, grantee_name)
            if found is None:
                return error(404, "NOT_FOUND", f"no account named {grantee_name!r}")
            grantee = found.id
        consent = await services.writer.call(
            services.store.clones.record_consent, account.id, grantee
        )
        return web.json_response(
            {
                "id": consent.id,
                "subject": account.id,
                "grantee": grantee,
                "granted_at": consent.granted_at,
            },
            status=201,
        )

    async def consent_list(request: web.Request) -> web.Response:
        services = request.app[SERVICES]
        account = await current_account(request)
        rows = await services.writer.call(services.store.clones.list_consents, account.id)
        return web.json_response(
            {
                "consents": [
                    {
                        "id": c.id,
                        "grantee": c.grantee_id,
                        "granted_at": c.granted_at,
                        "revoked_at": c.revoked_at,
                        "active": c.active,
                    }
                    for c in rows
                ]
            }
        )

    async def consent_delete(request: web.Request) -> web.Response:
        services = request.app[SERVICES]
        account = await current_account(request)
        try:
            consent_id = int(request.match_info["id"])
        except ValueError:
            return error(400, "BAD_FIELD", "consent id must be an integer")
        if not 0 < consent_id < 2**63:
            return error(400, "BAD_FIELD", "consent id out of range")
        done = await services.writer.call(
            services.store.clones.revoke_consent, account.id, consent_id, account.id
        )
        if not done:
            return error(404, "NOT_FOUND", "no active consent of yours with that id")
        for clone in services.world.agents.pool.clones():  # the live copies, at once too
            licence = clone.licence
            if (licence.home, licence.subject, licence.consent) == (
                None,
                account.id,
                str(consent_id),
            ):
                clone.licence = replace(licence, proven=False)
        return web.Response(status=204)

    async def clone_post(request: web.Request) -> web.Response:
        services = request.app[SERVICES]
        account = await current_account(request)
        body = await json_body(request)
        subject_name, role = body.get("subject"), body.get("role", "gunner")
        if not isinstance(subject_name, str) or not subject_name:
            return error(400, "BAD_FIELD", "'subject' must be an account name")
        if role not in ROLE_NAMES:
            return error(400, "BAD_FIELD", f"'role' must be one of {list(ROLE_NAMES)}")
        subject = await services.writer.call(services.store.accounts.by_name, subject_name)
        if subject is None:
            return error(404, "NOT_FOUND", f"no account named {subject_name!r}")
        consent = await services.writer.call(
            services.store.clones.active_consent, subject.id, account.id
        )
        if consent is None and subject.id == account.id:  # cloning yourself is your consent
            consent = await services.writer.call(
                services.store.clones.record_consent, account.id, account.id
            )
        world = services.world
        repo = world.agents.repo
        clone = Clone.create(
            await services.writer.call(repo.new_id),
            Profile(name=subject.name, background=f"A copy of the player {subject.name}."),
            world=world.name,
            tick=world.tick,
            role=role,
            licence=Licence(
                owner=account.id,
                subject=subject.id,
                consent=None if consent is None else str(consent.id),
                proven=consent is not None,
            ),
        )
        await services.writer.call(repo.put, clone, None)
        rows = await services.writer.call(services.store.clones.find, CloneFilter(ids=(clone.id,)))
        return web.json_response(_info(rows[0]), status=201)

    async def clone_list(request: web.Request) -> web.Response:
        services = request.app[SERVICES]
        account = await current_account(request)
        rows = await services.writer.call(
            services.store.clones.find, CloneFilter(owner_id=account.id)
        )
        return web.json_response({"clones": [_info(c) for c in rows]})

    def clone_id_of(request: web.Request) -> int:
        try:
            clone_id = int(request.match_info["id"])
        except ValueError:
            raise web.HTTPBadRequest(
                text='{"error": {"code": "BAD_FIELD", "message": "clone id must be an integer"}}',
                content_type="application/json",
            ) from None
        if not 0 < clone_id < 2**63:
            raise web.HTTPBadRequest(
                text='{"error": {"code": "BAD_FIELD", "message": "clone id out of range"}}',
                content_type="application/json",
            )
        return clone_id

    async def clone_export(request: web.Request) -> web.Response:
        services = request.app[SERVICES]
        account = await current_account(request)
        clone_id = clone_id_of(request)
        world = services.world
        repo = world.agents.repo

        def build() -> dict[str, Any] | None:
            clone = repo.get(clone_id)
            if clone.licence.owner != account.id:
                return None
            key = repo.signing_key()
            proof = repo.licence_proof(clone, key)
            code = new_claim_code()
            data = export_clone(
                clone, key, world=clone.world, tick=world.tick, proof=proof, claim_code=code
            )
            return {
                "id": str(clone.id),
                "name": clone.name,
                "file": data.decode(),
                "signer": key.fingerprint,
                "licence_proof": proof is not None,
                "claim_code": code,
            }

        try:
            out = await services.writer.call(build)
        except CloneNotFound:
            return error(404, "NOT_FOUND", f"no clone {clone_id}")
        if out is None:
            return error(403, "NOT_YOURS", f"clone {clone_id} is not yours to export")
        return web.json_response(out)

    async def clone_claim(request: web.Request) -> web.Response:
        services = request.app[SERVICES]
        account = await current_account(request)
        clone_id = clone_id_of(request)
        body = await json_body(request)
        code = body.get("code")
        if not isinstance(code, str) or not code.strip() or len(code) > 200:
            return error(400, "BAD_FIELD", "'code' must be the claim code given at export")
        repo = services.world.agents.repo
        store = services.store

        def claim() -> web.Response:
            row = repo.get_row(clone_id)
            if row is None:
                return error(404, "NOT_FOUND", f"no clone {clone_id}")
            clone = repo.get(clone_id)
            if clone.licence.owner is not None:
                return error(
                    409, "ALREADY_OWNED", f"clone {clone_id} has an owner: it cannot be claimed"
                )
            if not claim_matches(clone.licence, code):
                return error(
                    403,
                    "BAD_CLAIM",
                    "that is not this clone's claim code (it is printed once where the clone "
                    "was exported)",
                )
            clone.licence = replace(clone.licence, owner=account.id, claim=None)
            repo.put(clone, row.ship_id)
            store.worlds.add_audit(
                account.id, "clone_claimed", str(clone_id), {"how": "claim code"}
            )
            info = store.clones.find(CloneFilter(ids=(clone_id,)))
            return web.json_response(_info(info[0]))

        return await services.writer.call(claim)

    async def admin_clones(request: web.Request) -> web.Response:
        require_role(await current_account(request), "admin")
        return await world_clones(request.app[SERVICES], request.query.get("licence"))

    app.router.add_post("/api/clones/consent", consent_post)
    app.router.add_get("/api/clones/consent", consent_list)
    app.router.add_delete("/api/clones/consent/{id}", consent_delete)
    app.router.add_post("/api/clones", clone_post)
    app.router.add_get("/api/clones", clone_list)
    app.router.add_post("/api/clones/{id}/export", clone_export)
    app.router.add_post("/api/clones/{id}/claim", clone_claim)
    app.router.add_get("/api/admin/clones", admin_clones)
