"""One request's way into a world's books: a `Plan` becomes ONE `store.ledger.commit` and comes
back as a `Receipt`; the same request again is answered from the ledger.

Promises: a player request is keyed "<kind>:<account>:<rid>" (kind-scoped, so a client's
request ids never collide with another kind's, nor with the world's system keys); a replay
returns the first Receipt with `replay=True` and changes nothing; a race the store catches
(credits or items gone since the checks) is refused as INSUFFICIENT_FUNDS / OUT_OF_STOCK and
writes nothing. Balances and holds are read here too. Synchronous: the writer thread's.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from callister.economy.accounts import bounty_account, player_account, ship_holder
from callister.economy.checks import CHECK, EconomyError
from callister.protocol.errors import ErrorCode
from callister.store import (
    Character,
    InsufficientFunds,
    InsufficientItems,
    ItemMove,
    Posting,
    Store,
    Txn,
    Wreck,
)


@dataclass(frozen=True)
class Receipt:
    """What a committed (or replayed) economic request did.

    `credits` is the player's balance and `cargo` their ship's hold right after the
    transaction (for wreck_ship: the new ship's, empty). `character` is the updated character,
    already saved, when the request changed the ship or its vitals; else None. A replay
    (`replay=True`) returns all of these as they were after the *first* commit: answer the
    client with it, but do not apply its character or vitals to the zone again.
    """

    txn: int
    rid: str
    kind: str
    credits: int
    cargo: dict[str, int]
    character: Character | None
    detail: dict[str, Any]
    replay: bool

    def message(self) -> dict[str, Any]:
        """The protocol's `receipt` message for the client."""
        return {
            "t": "receipt",
            "rid": self.rid,
            "ok": True,
            "kind": self.kind,
            "credits": self.credits,
            "cargo": dict(self.cargo),
            "detail": self.detail,
        }


@dataclass(frozen=True)
class Plan:
    """One player request's transaction, as checked and priced: what `Books.commit` sends."""

    kind: str
    account_id: int
    rid: str
    ship_id: int
    detail: dict[str, Any]
    postings: list[Posting] = dataclasses.field(default_factory=list)
    moves: list[ItemMove] = dataclasses.field(default_factory=list)
    character: Character | None = None
    save_wreck: Wreck | None = None
    delete_wreck: int | None = None
    # (detail key, ledger account): the receipt's detail[key] is the account's balance right
    # after the transaction, as the store read it inside it (and stored it for replays)
    totals: tuple[tuple[str, str], ...] = ()


def request_key(kind: str, account_id: int, rid: str) -> str:
    """The idempotency key of a player's request."""
    return f"{kind}:{account_id}:{rid}"


class Books:
    """A world's ledger and item holdings in a Store, as the economy's parts read and write
    them; see the module docstring."""

    def __init__(self, store: Store, world: str, clock: Callable[[], float]) -> None:
        self.store = store
        self.world = world
        self.clock = clock

    def credits(self, account_id: int) -> int:
        """The player's balance (0 before their starting grant)."""
        account = player_account(CHECK.integer("account_id", account_id))
        return self.store.ledger.balance(self.world, account)

    def bounty(self, account_id: int) -> int:
        """Credits in escrow on the player's head."""
        account = bounty_account(CHECK.integer("account_id", account_id))
        return self.store.ledger.balance(self.world, account)

    def cargo(self, ship_id: int) -> dict[str, int]:
        """The ship's hold: {item: qty}."""
        holder = ship_holder(CHECK.integer("ship_id", ship_id))
        return self.store.ledger.holdings(self.world, holder)

    def replay(self, kind: str, account_id: int, rid: str) -> Receipt | None:
        """The Receipt of the request, if it was committed before (replay=True)."""
        txn = self.store.ledger.get_txn(self.world, request_key(kind, account_id, rid))
        return None if txn is None else _receipt(txn)

    def commit(self, plan: Plan) -> Receipt:
        """Commit the plan as one transaction (or answer from the ledger if its key was
        committed before); INSUFFICIENT_FUNDS / OUT_OF_STOCK if the store refuses it."""
        player = player_account(plan.account_id)
        ship = ship_holder(plan.ship_id)
        now = self.clock()
        character = plan.character
        if character is not None:  # the store stamps the saved row with the txn time too
            character = dataclasses.replace(character, updated_at=now)
        result = {
            "rid": plan.rid,
            "player": player,
            "ship": ship,
            "detail": plan.detail,
            "character": None if character is None else dataclasses.asdict(character),
            "totals": dict(plan.totals),
        }
        try:
            txn = self.store.ledger.commit(
                self.world,
                request_key(plan.kind, plan.account_id, plan.rid),
                plan.kind,
                account=player,
                postings=plan.postings,
                moves=plan.moves,
                character=character,
                save_wreck=plan.save_wreck,
                delete_wreck=plan.delete_wreck,
                result=result,
                report_accounts=(player, *(account for _, account in plan.totals)),
                report_holders=(ship,),
                at=now,
            )
        except InsufficientFunds as exc:  # raced with another change: the store caught it
            raise EconomyError(ErrorCode.INSUFFICIENT_FUNDS, str(exc)) from exc
        except InsufficientItems as exc:
            raise EconomyError(ErrorCode.OUT_OF_STOCK, str(exc)) from exc
        return _receipt(txn)


def _receipt(txn: Txn) -> Receipt:
    result = txn.result
    character = result.get("character")
    detail = dict(result.get("detail", {}))
    for name, account in result.get("totals", {}).items():
        detail[name] = txn.balances.get(account, 0)
    return Receipt(
        txn=txn.id,
        rid=str(result.get("rid", "")),
        kind=txn.kind,
        credits=txn.balances.get(str(result.get("player")), 0),
        cargo=dict(txn.holdings.get(str(result.get("ship")), {})),
        character=None if character is None else Character(**character),
        detail=detail,
        replay=txn.replay,
    )
