"""A tiny signed Binance-style REST client for the simulator tests (independent of the adapter)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import aiohttp
from yarl import URL

from phoenix.exchange.sim.auth import sign_hmac
from phoenix.exchange.sim.server import SimServer


class RestClient:
    """Minimal Binance-style REST client (HMAC), independent of the adapter under development."""

    def __init__(self, sim: SimServer, http: aiohttp.ClientSession, *, secret: str | None = None,
                 api_key: str | None = None) -> None:  # fmt: skip
        self.sim = sim
        self.http = http
        self.secret = secret or sim.api_secret
        self.api_key = api_key or sim.api_key
        self.clock_offset_ms = 0

    async def request(
        self, method: str, path: str, params: dict[str, Any] | None = None, *, signed: bool = True,
        key: bool = True, in_body: bool | None = None,
    ) -> tuple[int, Any, dict[str, str]]:  # fmt: skip
        params = dict(params or {})
        if signed:
            params.setdefault("timestamp", self.sim.now_ms() - self.clock_offset_ms)
        text = urlencode(params)
        if signed:
            text += "&signature=" + sign_hmac(self.secret, text)
        headers = {"X-MBX-APIKEY": self.api_key} if key else {}
        body_mode = in_body if in_body is not None else method in ("POST", "PUT")
        url = f"{self.sim.rest_url}{path}"
        if body_mode:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            async with self.http.request(method, url, data=text, headers=headers) as r:
                return r.status, await r.json(content_type=None), dict(r.headers)
        target = URL(f"{url}?{text}" if text else url, encoded=True)  # send exactly the bytes we signed
        async with self.http.request(method, target, headers=headers) as r:
            return r.status, await r.json(content_type=None), dict(r.headers)
