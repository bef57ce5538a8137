"""``UtilDatetime``: the datetime ``flux jobs`` formats with ``{t_submit!d:%b%d %R::>12}``
(imported by :mod:`flux.util.output` on first use, with the datetime module)."""

from __future__ import annotations

from datetime import datetime


class UtilDatetime(datetime):
    """A datetime whose format spec is ``STRFTIME[::PYTHON-SPEC]``.

    >>> "{0:%b%d %R::>16}".format(UtilDatetime.now())  # doctest: +SKIP
    '     Sep21 18:36'

    The Unix epoch formats as an empty string (``-`` with the ``h`` suffix).
    """

    def __format__(self, fmt: str) -> str:
        timefmt, sep, spec = fmt.partition("::")
        if self == datetime.fromtimestamp(0.0):
            result = ""
        else:
            result = self.strftime(timefmt or "%FT%T")
        if not sep:
            spec = ""
        if spec.endswith("+"):
            spec = spec[:-1]
        if spec.endswith("h"):
            if not result:
                result = "-"
            spec = spec[:-1] + "s"
        if spec:
            return format(result, spec)
        return result
