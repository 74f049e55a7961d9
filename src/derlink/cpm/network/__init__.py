"""The network locations of cpm's service points (NET-LOC): DERMS's export taken in through the
platform's file-intake machinery, kept as effective-dated rows."""
