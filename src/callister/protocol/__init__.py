"""The wire contract: message types, encode/decode, limits and the closed set of errors. No I/O."""
