"""Named limits of the wire protocol, each defined here once. Each has a default here and a test;
the server's settings may lower or raise the rate limits but never the decoder's structural
bounds. The economy checks its own arguments against the same numbers (`MAX_RID_LEN`,
`MAX_QTY`, `MAX_CREDITS`), so a request the decoder admits is never refused for its size later.
"""

PROTOCOL_VERSION = 1
# Versions a client may ask for in `hello.v`; `welcome.v` says which one the server speaks (v1
# is the default; v2 is docs/protocol.md's "Protocol v2").
PROTOCOL_VERSIONS = (1, 2)

# A client frame over this many bytes is refused with TOO_LARGE (and not parsed).
MAX_CLIENT_FRAME = 4096
# A frame over this many bytes never reaches the decoder: the socket is closed with 1009.
MAX_WS_MESSAGE = 65536
# An HTTP request body over this many bytes is refused with 413 (every server and gateway).
MAX_HTTP_BODY = 65536
# Bounds on decoded values.
MAX_TOKEN_LEN = 256
MAX_SEQ = 2**32 - 1
MAX_ENTITY_ID = 2**53 - 1  # ids stay below 2**53 so JSON and JavaScript carry them exactly
MAX_STATION_INDEX = 255
MIN_SECTOR = -(2**63)
MAX_SECTOR = 2**63 - 1
MAX_ROCK_INDEX = 65535
MAX_RID_LEN = 64  # client request ids (idempotency keys of trades and purchases), characters
MAX_KEY_LEN = 32  # content keys: items, hulls, weapons
MAX_NAME_LEN = 64  # account names
MAX_FIELD_INDEX = 255  # asteroid fields of a system (autopilot targets)
MAX_POINT = 10_000_000.0  # metres: an autopilot point's coordinates (far past any system)
MAX_SLOT = 7  # weapon slots are 0..MAX_SLOT
MAX_QTY = 100_000  # the most units one trade (or one mining report) may move
MAX_CREDITS = 10**12  # the largest credit amount a request (a bounty) or a setting may name
