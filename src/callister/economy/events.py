"""What the world does to a player's books away from the station desks: the starting grant,
mining, a ship's destruction, looting a wreck, taking a boarded ship's cargo, a wreck's expiry,
and bounties.

Promises: each is ONE ledger transaction, exactly once per key. Player events are keyed like
requests, "<kind>:<account>:<rid>", with rids the world derives from the event (the destroyed
ship, the tick), so the world can retry them safely; system events have keys of their own:
"open:<account>" (the grant), "expire:<wreck>", "board:<captor>:<target>:<tick>". Units are
created only by mining and destroyed only by wreck expiry and a death that leaves no wreck.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from callister.economy import checks
from callister.economy.accounts import (
    INSURER,
    MINT,
    bounty_account,
    player_account,
    ship_holder,
    transfer,
    wreck_holder,
)
from callister.economy.books import Books, Plan, Receipt
from callister.economy.catalog import Catalog
from callister.economy.checks import CHECK, EconomyError
from callister.economy.rules import MAX_BOUNTY, MIN_BOUNTY
from callister.economy.vitals import vitals, without_vitals
from callister.protocol.errors import ErrorCode
from callister.store import Character, ItemMove, Posting, Wreck


class WorldEvents:
    """The world's economic events over its books; see the module docstring."""

    def __init__(self, books: Books, catalog: Catalog, starting_credits: int) -> None:
        self.books = books
        self.catalog = catalog
        self.starting_credits = starting_credits

    def ensure_player(self, account_id: int) -> int:
        """Open the player's ledger account with the starting grant (once ever); return the
        current balance. Call it whenever a character enters the world."""
        account_id = CHECK.integer("account_id", account_id)
        books = self.books
        player = player_account(account_id)
        key = f"open:{account_id}"
        if books.store.ledger.get_txn(books.world, key) is None:
            grant = self.starting_credits
            books.store.ledger.commit(
                books.world,
                key,
                "open",
                account=player,
                postings=transfer(MINT, player, grant),
                result={"granted": grant},
                at=books.clock(),
            )
        return books.store.ledger.balance(books.world, player)

    def mine(self, rid: str, account_id: int, character: Character, ore: str, qty: int) -> Receipt:
        """Create `qty` units of `ore` in the ship's hold (a source), clipped to the free
        room; CARGO_FULL if none fits, BAD_FIELD for an unknown ore. detail["qty"] is what
        was stored, detail["requested"] what was mined."""
        rid, account_id = CHECK.rid(rid), CHECK.integer("account_id", account_id)
        qty = checks.quantity("qty", qty)
        if not isinstance(ore, str) or ore not in self.catalog.content.ores:
            raise EconomyError(ErrorCode.BAD_FIELD, f"no ore {ore!r}")
        books = self.books
        if (done := books.replay("mine", account_id, rid)) is not None:
            return done
        character = checks.character(character, books.world, account_id)
        room = self.catalog.room(character, books.cargo(character.ship_id))
        stored = min(qty, room // self.catalog.volume(ore))
        if stored <= 0:
            raise EconomyError(ErrorCode.CARGO_FULL, "the hold is full")
        detail = {"ore": ore, "qty": stored, "requested": qty}
        moves = [ItemMove(ore, stored, None, ship_holder(character.ship_id))]
        return books.commit(Plan("mine", account_id, rid, character.ship_id, detail, moves=moves))

    def wreck_ship(
        self,
        rid: str,
        account_id: int,
        character: Character,
        wreck_id: int,
        new_ship_id: int,
        wreck_at: tuple[int, int, float, float],
        wreck_expires_at: float,
        killer_account: int | None,
    ) -> Receipt:
        """The character's ship was destroyed: ONE transaction that

        - moves its whole hold to holder "wreck:<wreck_id>" and saves the wreck row at
          `wreck_at` = (system_x, system_y, x, y) until `wreck_expires_at`; with wreck_id 0
          (the zone could not spawn one) the cargo is destroyed instead;
        - pays INSURANCE_PAYOUT x the hull's price from the insurer if it was insured;
        - pays the whole bounty on the victim to `killer_account` (not for a suicide, nor
          when the killer is None: an NPC or a station);
        - turns the character into a fresh starter ship `new_ship_id`, docked at its home
          station (x, y, v, angle 0: the zone puts a docked ship at the station's centre),
          vitals full, uninsured.

        `rid` must be deterministic for the death (e.g. the destroyed ship id), so the world can
        retry it safely. Receipt.character is the new character; detail: {"ship", "hull",
        "wreck", "lost", "insurance", "bounty", "killer", "new_ship"}.
        """
        rid, account_id = CHECK.rid(rid), CHECK.integer("account_id", account_id)
        wreck_id = CHECK.integer("wreck_id", wreck_id, lo=0)
        new_ship_id = CHECK.integer("new_ship_id", new_ship_id, lo=1)
        if not isinstance(wreck_at, tuple | list) or len(wreck_at) != 4:
            raise EconomyError(ErrorCode.BAD_FIELD, "wreck_at must be (system_x, system_y, x, y)")
        sx, sy = CHECK.integer("system_x", wreck_at[0]), CHECK.integer("system_y", wreck_at[1])
        wx, wy = CHECK.number("x", wreck_at[2]), CHECK.number("y", wreck_at[3])
        expires = CHECK.number("wreck_expires_at", wreck_expires_at)
        killer = None if killer_account is None else CHECK.integer("killer_account", killer_account)
        books = self.books
        if (done := books.replay("death", account_id, rid)) is not None:
            return done
        character = checks.character(character, books.world, account_id)
        if new_ship_id == character.ship_id:
            raise EconomyError(ErrorCode.BAD_FIELD, "the new ship needs a new id")
        v = vitals(character, self.catalog.content)
        old_ship = ship_holder(character.ship_id)
        lost = books.cargo(character.ship_id)
        destination = wreck_holder(wreck_id) if wreck_id > 0 else None
        moves = [ItemMove(item, qty, old_ship, destination) for item, qty in sorted(lost.items())]
        wreck = None
        if wreck_id > 0:
            wreck = Wreck(books.world, wreck_id, sx, sy, wx, wy, expires, account_id)
        player = player_account(account_id)
        payout = self.catalog.payout(v.hull) if v.insured else 0
        postings: list[Posting] = transfer(INSURER, player, payout)
        bounty = books.bounty(account_id)
        claimed = killer is not None and killer != account_id and bounty > 0
        if claimed:
            assert killer is not None
            postings += transfer(bounty_account(account_id), player_account(killer), bounty)
        starter = self.catalog.content.starter_hull
        reborn = dataclasses.replace(
            without_vitals(character),
            ship_id=new_ship_id,
            hull=starter.key,
            system_x=character.home_x,
            system_y=character.home_y,
            x=0.0,
            y=0.0,
            vx=0.0,
            vy=0.0,
            angle=0.0,
            docked_at=character.home_station,
        )
        detail = {
            "ship": character.ship_id,
            "hull": v.hull.key,
            "wreck": wreck_id,
            "lost": lost,
            "insurance": payout,
            "bounty": bounty if claimed else 0,
            "killer": killer,
            "new_ship": new_ship_id,
        }
        return books.commit(
            Plan(
                "death",
                account_id,
                rid,
                new_ship_id,
                detail,
                postings,
                moves,
                character=reborn,
                save_wreck=wreck,
            )
        )

    def loot(self, rid: str, account_id: int, character: Character, wreck_id: int) -> Receipt:
        """Move as much of the wreck's contents into the ship's hold as fits, most valuable
        per cargo unit first. detail: {"wreck", "items": taken, "empty": bool}; when the wreck
        is left empty its row is deleted in the same transaction (the world then removes the
        entity). NOT_AVAILABLE for an unknown wreck, CARGO_FULL if nothing fits."""
        rid, account_id = CHECK.rid(rid), CHECK.integer("account_id", account_id)
        wreck_id = CHECK.integer("wreck_id", wreck_id, lo=1)
        books = self.books
        if (done := books.replay("loot", account_id, rid)) is not None:
            return done
        character = checks.character(character, books.world, account_id)
        holder = wreck_holder(wreck_id)
        contents = books.store.ledger.holdings(books.world, holder)
        if not contents and books.store.ledger.get_wreck(books.world, wreck_id) is None:
            raise EconomyError(ErrorCode.NOT_AVAILABLE, f"there is no wreck {wreck_id}")
        taken = self._fitting(contents, character)
        if contents and not taken:
            raise EconomyError(ErrorCode.CARGO_FULL, "nothing in the wreck fits your hold")
        empty = all(taken.get(item, 0) == qty for item, qty in contents.items())
        ship = ship_holder(character.ship_id)
        moves = [ItemMove(item, qty, holder, ship) for item, qty in taken.items()]
        detail = {"wreck": wreck_id, "items": taken, "empty": empty}
        return books.commit(
            Plan(
                "loot",
                account_id,
                rid,
                character.ship_id,
                detail,
                moves=moves,
                delete_wreck=wreck_id if empty else None,
            )
        )

    def board(self, captor: Character, target_ship: int, tick: int) -> dict[str, int]:
        """A boarding party won: move as much of the target ship's hold into the captor's as
        fits, most valuable per cargo unit first, once per (captor, target, tick). Returns what
        was taken ({} when nothing fits or nothing is there: then nothing is written)."""
        captor = checks.character(captor, self.books.world, None)
        target_ship = CHECK.integer("target_ship", target_ship, lo=1)
        tick = CHECK.integer("tick", tick, lo=0)
        books = self.books
        source, destination = ship_holder(target_ship), ship_holder(captor.ship_id)
        taken = self._fitting(books.cargo(target_ship), captor)
        if taken:
            books.store.ledger.commit(
                books.world,
                f"board:{captor.account_id}:{target_ship}:{tick}",
                "board",
                account=player_account(captor.account_id),
                moves=[
                    ItemMove(item, qty, source, destination) for item, qty in sorted(taken.items())
                ],
                result={"target": target_ship, "items": taken},
                report_holders=(source, destination),
                at=books.clock(),
            )
        return taken

    def expire_wreck(self, wreck_id: int) -> None:
        """The wreck's time is up: destroy its contents (a sink) and delete its row, once.
        A wreck that is already gone is not an error."""
        wreck_id = CHECK.integer("wreck_id", wreck_id, lo=1)
        books = self.books
        key = f"expire:{wreck_id}"
        if books.store.ledger.get_txn(books.world, key) is not None:
            return
        holder = wreck_holder(wreck_id)
        contents = books.store.ledger.holdings(books.world, holder)
        if not contents and books.store.ledger.get_wreck(books.world, wreck_id) is None:
            return
        books.store.ledger.commit(
            books.world,
            key,
            "expire",
            account=holder,
            moves=[ItemMove(item, qty, holder, None) for item, qty in sorted(contents.items())],
            delete_wreck=wreck_id,
            result={"destroyed": contents},
            at=books.clock(),
        )

    def place_bounty(self, rid: str, account_id: int, target_account: int, amount: int) -> Receipt:
        """Put `amount` credits in escrow on another player's head; whoever destroys them
        collects it all. BAD_FIELD for yourself or an amount outside [MIN_BOUNTY, MAX_BOUNTY];
        NOT_AVAILABLE for an unknown account. detail["total"] is the bounty now."""
        rid, account_id = CHECK.rid(rid), CHECK.integer("account_id", account_id)
        target = CHECK.integer("target_account", target_account)
        amount = CHECK.integer("amount", amount)
        if not MIN_BOUNTY <= amount <= MAX_BOUNTY:
            raise EconomyError(
                ErrorCode.BAD_FIELD,
                f"a bounty is {MIN_BOUNTY}..{MAX_BOUNTY} credits, not {amount}",
            )
        if target == account_id:
            raise EconomyError(ErrorCode.BAD_FIELD, "you cannot put a bounty on yourself")
        books = self.books
        if (done := books.replay("bounty", account_id, rid)) is not None:
            return done
        if books.store.accounts.get(target) is None:
            raise EconomyError(ErrorCode.NOT_AVAILABLE, f"there is no player {target}")
        checks.afford(amount, books.credits(account_id))
        escrow = bounty_account(target)
        detail = {"target": target, "amount": amount}
        postings = transfer(player_account(account_id), escrow, amount)
        return books.commit(
            Plan("bounty", account_id, rid, 0, detail, postings, totals=(("total", escrow),))
        )

    def _fitting(self, contents: Mapping[str, int], character: Character) -> dict[str, int]:
        """What of `contents` fits the character's free hold, the most valuable per cargo unit
        first."""
        catalog = self.catalog
        room = catalog.room(character, self.books.cargo(character.ship_id))
        taken: dict[str, int] = {}
        for item in sorted(contents, key=catalog.loot_order):
            n = min(contents[item], max(0, room) // catalog.volume(item))
            if n > 0:
                taken[item] = n
                room -= n * catalog.volume(item)
        return taken
