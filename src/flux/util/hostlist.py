"""Internal hostlist helpers working on lists (the public class is :mod:`flux.hostlist`)."""

from flux.hostlist import Hostlist, encode
from flux.hostlist import decode_list as decode

__all__ = ["Hostlist", "decode", "encode"]
