"""Reading a request body within a size limit, gunzipping on the way (the limit applies to the
decompressed size, so a small gzip bomb is refused like a large body). Fed chunk by chunk."""

from __future__ import annotations

import zlib

from kapacitor.errors import BodyTooLarge, RequestError

__all__ = ["BodyReader"]


class BodyReader:
    def __init__(self, limit: int, *, gzip: bool = False) -> None:
        self.limit = limit
        self._dec = zlib.decompressobj(wbits=47) if gzip else None
        self._parts: list[bytes] = []
        self._size = 0

    def _keep(self, data: bytes) -> None:
        self._size += len(data)
        if self._size > self.limit:
            raise BodyTooLarge(f"request body too large: limit is {self.limit} bytes")
        self._parts.append(data)

    def feed(self, chunk: bytes) -> None:
        if self._dec is not None:
            try:
                chunk = self._dec.decompress(chunk, self.limit + 1 - self._size)
            except zlib.error as e:
                raise RequestError(f"invalid gzip body: {e}") from None
        self._keep(chunk)

    def finish(self) -> bytes:
        if self._dec is not None:
            try:
                self._keep(self._dec.flush())
            except zlib.error as e:
                raise RequestError(f"invalid gzip body: {e}") from None
        return b"".join(self._parts)
