"""Game content as data (TOML under content/data) and its typed loader."""

from callister.content.loader import Commodity, Content, Faction, Hull, Ore, load_content

__all__ = ["Commodity", "Content", "Faction", "Hull", "Ore", "load_content"]
