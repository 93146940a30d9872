"""The map app declares layers over other apps' models; it keeps no tables of its own yet."""
