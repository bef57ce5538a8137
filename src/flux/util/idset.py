"""Internal idset helpers working on lists (the public class is :mod:`flux.idset`)."""

from flux.idset import IDset, encode
from flux.idset import decode_list as decode

__all__ = ["IDset", "decode", "encode"]
