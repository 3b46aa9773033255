"""The zone's rule constants in one place: same numbers for players and agents."""

from __future__ import annotations

from typing import Final

DOCK_MAX_SPEED: Final = 60.0
"""m/s: the fastest a ship may be moving and still dock."""

JUMP_CHARGE_TICKS: Final = 40
"""Ticks between a jump starting to charge and the ship leaving (2 s at 20 Hz)."""

UNDOCK_MARGIN: Final = 10.0
"""m of clear space between station hull and ship hull when a ship undocks."""

RESTITUTION: Final = 0.4
"""Fraction of the normal speed a ship keeps (reflected) after hitting a static collider."""

RESTING_SPEED: Final = 5.0
"""m/s: impacts slower than this do not bounce (the normal speed is removed), so a ship
pressing against a rock comes to rest on it instead of buzzing back and forth."""

CONTACT_SLOP: Final = 2.0
"""m: a ship within this distance of the collider it touched is still "in contact", so pressing
against a rock (push-out, re-penetrate, push-out ...) raises one Collided event, not one per
tick."""

PUSH_OUT_EPSILON: Final = 0.01
"""m: a pushed-out ship is left this far outside the surface so float32 rounding cannot leave
it touching."""

BOUNDARY_FACTOR: Final = 1.5
"""Ships farther than this many system radii from the star are pushed back."""

BOUNDARY_ACCEL: Final = 300.0
"""m/s^2 of push-back beyond the boundary: above every hull's thrust, so nobody flies out."""

BOUNDARY_DAMPING: Final = 0.1
"""Fraction of the outward speed removed per tick beyond the boundary (a soft wall)."""

GRID_CELL_SIZE: Final = 500.0
"""m: cell size of the dynamic neighbour grid rebuilt every tick (larger in huge systems)."""

GRID_BOUNDS_MARGIN: Final = 2000.0
"""m the neighbour grid extends past the boundary wall (ships beyond share its edge cells)."""
