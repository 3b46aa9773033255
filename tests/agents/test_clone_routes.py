"""The clone HTTP routes (server/crew_routes.py) on a real server over loopback: consent, a
player's own clone, revocation, export with a claim code, and claiming an imported clone."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import aiohttp

from callister.agents import Clone, Licence, Profile

if TYPE_CHECKING:  # the `live` fixture's type (tests/conftest.py; not a package from here)
    from tests.conftest import LiveServer


async def _register(live: LiveServer, http: aiohttp.ClientSession, name: str) -> dict[str, Any]:
    body = {"name": name, "password": "correct horse battery"}
    async with http.post(f"{live.http}/api/register", json=body) as r:
        assert r.status == 201, await r.text()
        data = await r.json()
    return {"id": data["account"]["id"], "auth": {"Authorization": f"Bearer {data['token']}"}}


async def _flagged(live: LiveServer) -> set[str]:
    """The clones the moderation detectors flag as unlicensed, after one pass now."""
    findings = await live.services.gateway.moderation.detect()
    return {f.subject for f in findings if f.detector == "unlicensed_clone"}


async def test_own_clone_is_licensed_and_revoking_consent_unlicenses_at_once(
    live: LiveServer, http: aiohttp.ClientSession
) -> None:
    alice = await _register(live, http, "alice")
    bob = await _register(live, http, "bob")
    api = f"{live.http}/api/clones"
    # cloning yourself records your own consent: licensed, and not an illegal clone
    r = await http.post(api, json={"subject": "alice"}, headers=alice["auth"])
    own = await r.json()
    assert r.status == 201 and own["licence"] == "licensed", own
    consents = (await (await http.get(f"{api}/consent", headers=alice["auth"])).json())["consents"]
    assert [(c["grantee"], c["active"]) for c in consents] == [(alice["id"], True)]
    # bob clones alice with her consent: licensed; a live copy runs in the world's pool
    r = await http.post(f"{api}/consent", json={"grantee": "bob"}, headers=alice["auth"])
    consent_id = (await r.json())["id"]
    made = await (await http.post(api, json={"subject": "alice"}, headers=bob["auth"])).json()
    assert made["licence"] == "licensed"
    assert not {own["id"], made["id"]} & await _flagged(live)
    world = live.services.world
    live_copy = await world.writer.call(world.agents.repo.get, int(made["id"]))
    assert live_copy.licence.proven
    world.agents.pool.add(live_copy, ship=-1, zone=("nowhere", 0, 0))  # aboard no real zone
    try:
        r = await http.delete(f"{api}/consent/{consent_id}", headers=alice["auth"])
        assert r.status == 204
        mine = (await (await http.get(api, headers=bob["auth"])).json())["clones"]
        assert [c["licence"] for c in mine] == ["unlicensed"]
        assert live_copy.licence.status == "unlicensed"  # the running copy knows at once
        assert made["id"] in await _flagged(live)
    finally:
        world.agents.pool.remove(live_copy.id)
    # revoking again, or someone else's consent: a clear 404
    r = await http.delete(f"{api}/consent/{consent_id}", headers=alice["auth"])
    assert r.status == 404
    r = await http.delete(f"{api}/consent/{consent_id}", headers=bob["auth"])
    assert r.status == 404


async def test_export_gives_the_owner_a_claim_code_and_an_import_is_claimed_with_it(
    live: LiveServer, http: aiohttp.ClientSession
) -> None:
    from callister.agents.clonefile import (
        SigningKey,
        export_clone,
        import_clone,
        issue_licence_proof,
    )

    alice = await _register(live, http, "alice")
    bob = await _register(live, http, "bob")
    carol = await _register(live, http, "carol")
    api = f"{live.http}/api/clones"
    own = await (await http.post(api, json={"subject": "alice"}, headers=alice["auth"])).json()
    r = await http.post(f"{api}/{own['id']}/export", headers=bob["auth"])
    assert r.status == 403 and (await r.json())["error"]["code"] == "NOT_YOURS"
    r = await http.post(f"{api}/{own['id']}/export", headers=alice["auth"])
    exported = await r.json()
    assert r.status == 200 and exported["licence_proof"] and exported["claim_code"]
    assert exported["claim_code"] not in exported["file"]
    for bad, status in (("12345", 404), ("abc", 400), ("0", 400)):
        r = await http.post(f"{api}/{bad}/export", headers=alice["auth"])
        assert r.status == status
    # a clone owned by account #<bob> on another server, "alpha", arrives here
    alpha = SigningKey.generate()
    store, world = live.services.store, live.services.world
    await world.writer.call(store.clones.trust_key, world.name, alpha.public_bytes, "alpha")
    theirs = Clone.create(
        2**61 + 4242,
        Profile(name="Vega"),
        world="alpha",
        licence=Licence(owner=bob["id"], subject=bob["id"], consent="1"),
    )
    proof = issue_licence_proof(
        alpha, subject=bob["id"], consent="1", grantee=None, granted_at=1.0, issued_at=2.0
    )
    data = export_clone(theirs, alpha, world="alpha", tick=9, proof=proof, claim_code="vega-code")
    repo = world.agents.repo
    arrival = import_clone(
        data, world=world.name, tick=world.tick, own=repo.own_keys(), trusted=[alpha.public_bytes]
    )
    await world.writer.call(repo.put, arrival.clone, None)
    clone_url = f"{api}/{arrival.clone.id}/claim"
    mine = (await (await http.get(api, headers=bob["auth"])).json())["clones"]
    assert mine == []  # bob here is not bob there
    r = await http.post(clone_url, json={"code": "guess"}, headers=bob["auth"])
    assert r.status == 403 and (await r.json())["error"]["code"] == "BAD_CLAIM"
    for body in ({}, {"code": 5}, {"code": " "}):
        r = await http.post(clone_url, json=body, headers=carol["auth"])
        assert r.status == 400
    r = await http.post(f"{api}/999/claim", json={"code": "vega-code"}, headers=carol["auth"])
    assert r.status == 404
    r = await http.post(clone_url, json={"code": "vega-code"}, headers=carol["auth"])
    claimed = await r.json()
    assert r.status == 200 and claimed["owner"] == carol["id"]
    assert claimed["licence"] == "licensed" and claimed["home"] == alpha.fingerprint
    r = await http.post(clone_url, json={"code": "vega-code"}, headers=bob["auth"])
    assert r.status == 409
    audit = await world.writer.call(store.worlds.list_audit, str(arrival.clone.id))
    assert [(a.action, a.actor) for a in audit] == [("clone_claimed", carol["id"])]
    r = await http.post(clone_url, json={"code": "vega-code"})
    assert r.status == 401
