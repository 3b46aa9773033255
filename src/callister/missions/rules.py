"""The numbers of missions, the tutorial, reputation, rescue and recall, in one place.

Credits are integers; times are wall-clock seconds (the economy's clock), distances metres.
`docs/missions.md` ("The arithmetic") shows how these figures let a new pilot profit within
minutes and buy the hauler within the first hour.
"""

from __future__ import annotations

from typing import Final

# -- the board ---------------------------------------------------------------------------------
BOARD_BUCKET_S: Final = 900
"""A station's offers are drawn afresh every 15 minutes (the time bucket of the board's seed)."""
BOARD_SIZE: Final = 8
"""The most offers one station shows (its own contracts plus pickups here)."""
BOARD_TIER_SLOTS: Final = (3, 2, 2, 1)
"""Offers of each tier a board keeps (when it has them) before the rest compete on pay: a
new pilot always has work of their own tier, and sees what a better rank brings."""
ROUTINE_ORDERS: Final = 2
"""Requisitions every market station posts per bucket even when nothing runs short: stations
consume goods, and a fresh world (every stock at its target) must still have deliveries."""
SHORT_AT: Final = 0.25
"""A station runs short of an item when its stock is below (1 - SHORT_AT) x its target."""
MAX_ACTIVE: Final = 5
"""Contracts one pilot holds at once."""
FINISHED_KEPT: Final = 64
"""Finished contract ids a log remembers (so a board never offers one again)."""

# -- pay ---------------------------------------------------------------------------------------
WAGE_PER_S: Final = (20, 28, 36, 44)
"""Credits per estimated second of work, by contract tier (tier = the rank the giver asks)."""
CARGO_SHARE: Final = 0.10
"""A delivery also pays this share of the goods' value: valuable cargo is a risk carried."""
ROUND_TO: Final = 10
"""Rewards are rounded up to a multiple of this."""
TIER_HOLD: Final = (20, 20, 100, 200)
"""Cargo units a contract of each tier fills at most (a shuttle holds 20, a hauler 200)."""
TIER_COLLATERAL: Final = (1500, 6000, 25_000, 100_000)
"""The most collateral a contract of each tier asks (a new pilot holds 2000 credits)."""
BIG_TIER: Final = 2
"""From this tier on, time estimates use the largest hold's hull (slower) instead of the
starter's."""
MINING_QTY: Final = (12, 20, 100, 200)
"""Ore units a mining quota of each tier asks."""
BOUNTY_BASE: Final = 1000
"""A bounty on a pirate in a starter-priced hull; sqrt(hull price / starter price) scales it."""
BOUNTY_TIER: Final = 1
"""Bounties start at this tier: a pilot fights pirates after a few peaceful contracts."""
ESCORT_BASE: Final = 300
ESCORT_FACTOR: Final = 1.25
"""An escort pays ESCORT_BASE + ESCORT_FACTOR x the wage over the trader's trip."""
ESCORT_RANGE: Final = 2000.0
"""m: an escort stays this close to its charge ..."""
ESCORT_PRESENCE: Final = 0.6
"""... for at least this share of the trip (and at the arrival)."""
URGENCY_MAX: Final = 1.0
"""A delivery for a station short of an item pays up to (1 + this) x the wage."""

# -- time estimates (travel.py) ----------------------------------------------------------------
UNDOCK_S: Final = 5.0
DOCK_S: Final = 20.0
"""An approach under the docking speed and the docking itself."""
JUMP_S: Final = 4.0
"""The 2 s charge plus turning onto the link."""
HANDLING_S: Final = 20.0
"""Reading the board, trading, loading: a fixed part of every contract's estimate."""
COMBAT_S: Final = 60.0
"""A fight's share of a bounty's estimate."""

# -- deadlines ---------------------------------------------------------------------------------
DEADLINE_FACTOR: Final = 3.0
DEADLINE_MIN_S: Final = 600
"""A contract must be done within max(DEADLINE_MIN_S, DEADLINE_FACTOR x its estimate) of
being accepted."""

# -- reputation --------------------------------------------------------------------------------
REP_MIN: Final = -100
REP_MAX: Final = 100
MISSION_REP: Final = (3, 3, 4, 5)
"""Reputation with the giver for a completed contract of each tier."""
FAIL_REP: Final = -4
ABANDON_REP: Final = -2
CRIME_REP: Final = -10
"""A crime in the secure space of a faction's station, with that faction ..."""
CRIME_SPILL_REP: Final = -3
"""... and with every other lawful faction (they share their wanted lists)."""
KILL_FACTION_REP: Final = -15
"""Destroying a ship of a faction (its patrols, its traders), with that faction."""
KILL_PIRATE_REP: Final = 1
"""Destroying a pirate, with every lawful faction."""
HULL_RANK: Final = ((10_000, "neutral"), (70_000, "known"))
"""At a lawful faction's shipyard a hull up to the price asks that rank; dearer ones ask
"trusted". Other factions' shipyards ask nothing."""

# -- tutorial ----------------------------------------------------------------------------------
TUTORIAL_REWARDS: Final = {
    "undock": 100,
    "fly": 100,
    "mine": 150,
    "dock": 100,
    "sell": 250,
    "contract": 150,
    "jump": 250,
    "done": 500,
}
"""Credits each tutorial step pays when it is done ("done": finishing the whole tutorial)."""
TUTORIAL_MINE_UNITS: Final = 5
FIRST_PROFIT_S: Final = 220.0
"""A good home has a field whose tutorial first profit takes at most this long at the quickest
(a human takes about 30 % longer: within the 300 s goal)."""
MARKER_RADIUS: Final = 400.0
"""m: a point marker counts as reached this close."""
MARKER_STANDOFF: Final = 300.0
"""m: the tutorial's first marker sits this far outside the field nearest home."""

# -- rescue, recall, ration (rescue.py) --------------------------------------------------------
RESCUE_RANGE: Final = 300.0
RESCUE_MAX_SPEED: Final = 30.0
"""A rescuer delivers fuel or takes a tow within this range, this slow relative to the ship."""
CALLOUT_BASE: Final = 150
CALLOUT_PER_KM: Final = 8
"""A rescue's fee: the call-out, plus this per km the responder flies to reach the ship ..."""
TOW_PER_KM: Final = 15
"""... plus, for a tow, this per km to the station ..."""
FUEL_MARKUP: Final = 2.0
"""... or, for a fuel delivery, the fuel at this multiple of the nearest station's price."""
RESCUE_FUEL_MARGIN: Final = 1.5
RESCUE_FUEL_MIN: Final = 10.0
"""A fuel delivery brings enough to reach the nearest refuelling station x the margin (at
least the minimum, at most the tank)."""
FUND_COVERS: Final = 1000
"""In lawful space the patrol fund pays a rescue's shortfall up to this ..."""
FUND_EVERY_S: Final = 3600
"""... once per pilot per hour."""
RECALL_BASE: Final = 500
RECALL_PER_JUMP: Final = 250
"""The emergency recall home costs this, plus this per sector of distance from home."""
SALVAGE_SHARE: Final = 0.5
"""A recall short of credits takes cargo instead, valued at this share of its base price."""
RATION_FUEL: Final = 25.0
"""Fuel the home station gives free to a pilot docked there who can afford none."""
FUEL_LOW: Final = 2.0
"""The HUD warns "low" when the fuel is under this many times what reaching a refuelling
station takes (plus a jump's worth) ..."""
FUEL_CRITICAL: Final = 1.25
"""... and "critical" (the point of no return) under this many times."""
FUEL_SPARE: Final = 2.0
"""Fuel units added to every estimate for turning and small corrections."""
