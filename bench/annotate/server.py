"""Several campaigns from one server process: `bench annotate serve C1 C2 …`.

Each campaign keeps its own app (bench.annotate.app); this ASGI dispatcher in front sends

    /a/<token>…, /s/<study token>   to the campaign whose database holds that token's digest
                                    (tokens are random, so at most one does); 403 otherwise
    /c/<campaign folder name>/…     to that campaign's app, prefix stripped (its admin page:
                                    /c/<name>/admin, export /c/<name>/admin/export.zip)
    /admin                          the list of campaigns with their admin links (HTTP Basic,
                                    the same password and login limit as each admin page)
    anything else                   to the first campaign's app (/, /static, /favicon.ico)

so invite links keep their form (`--base-url` is the server's address for every campaign).
"""

from __future__ import annotations

import html
import os
from typing import Any

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse
from fastapi.security import HTTPBasic, HTTPBasicCredentials

from bench.annotate.app import create_app
from bench.annotate.campaign import Campaign, token_digest
from bench.annotate.security import (
    ADMIN_PASSWORD_ENV,
    HEADERS,
    TRUST_PROXY_ENV,
    LoginLimiter,
    admin_refusal,
)
from bench.api.errors import BenchError


class MultiCampaignApp:
    def __init__(self, campaigns: list[Campaign], apps: list[Any], index: Any):
        names = [c.path.name for c in campaigns]
        if len(set(names)) != len(names):
            raise BenchError(f"two campaign folders share a name ({', '.join(names)}); rename one")
        self.campaigns = campaigns
        self.apps = dict(zip(names, apps, strict=True))
        self.index = index  # the /admin list

    def _by_token(self, kind: str, token: str) -> Any | None:
        digest = token_digest(token)
        for campaign in self.campaigns:
            store = campaign.store
            known = store.annotator(digest) if kind == "a" else store.study_link(digest)
            if known is not None:
                return self.apps[campaign.path.name]
        return None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":  # nothing to start or stop
            message = await receive()
            while message["type"] != "lifespan.shutdown":
                await send({"type": message["type"] + ".complete"})
                message = await receive()
            await send({"type": "lifespan.shutdown.complete"})
            return
        path = scope.get("path", "/")
        parts = path.split("/")
        target = self.apps[self.campaigns[0].path.name]
        if len(parts) > 2 and parts[1] in ("a", "s") and parts[2]:
            target = self._by_token(parts[1], parts[2]) or self.apps[self.campaigns[0].path.name]
        elif len(parts) > 2 and parts[1] == "c":
            if parts[2] not in self.apps:
                await _not_found(send)
                return
            prefix = f"/c/{parts[2]}"
            target = self.apps[parts[2]]
            scope = {**scope, "path": path[len(prefix):] or "/",
                     "root_path": scope.get("root_path", "") + prefix}  # fmt: skip
        elif path == "/admin":
            target = self.index
        await target(scope, receive, send)


async def _not_found(send: Any) -> None:
    body = b"Not Found"
    await send({"type": "http.response.start", "status": 404,
                "headers": [(b"content-type", b"text/plain"), (b"content-length", b"9")]})  # fmt: skip
    await send({"type": "http.response.body", "body": body})


def create_server(campaigns: list[Campaign], admin_password: str | None = None,
                  trust_proxy: bool | None = None) -> Any:  # fmt: skip
    """One campaign: its app as is; several: the dispatcher over their apps."""
    apps = [create_app(c, admin_password, trust_proxy) for c in campaigns]
    if len(campaigns) == 1:
        return apps[0]
    password = os.environ.get(ADMIN_PASSWORD_ENV, "") if admin_password is None else admin_password
    trusted = os.environ.get(TRUST_PROXY_ENV) == "1" if trust_proxy is None else trust_proxy
    limiter = LoginLimiter()
    index = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    basic = HTTPBasic(auto_error=False)

    @index.get("/admin")
    def campaigns_list(request: Request,
                       credentials: HTTPBasicCredentials | None = Depends(basic)) -> HTMLResponse:  # fmt: skip
        given = credentials.password if credentials is not None else None
        refusal = admin_refusal(password, given, limiter.client(request, trusted), limiter)
        if refusal:
            raise HTTPException(refusal[0], refusal[1], headers=refusal[2])
        rows = "".join(
            f'<li><a href="/c/{html.escape(c.path.name)}/admin">{html.escape(c.path.name)}</a>'
            f" ({html.escape(c.task.name)})</li>"
            for c in campaigns
        )
        page = (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>campaigns'
                f'</title><link rel="stylesheet" href="/static/annotate.css"></head><body><main>'
                f'<h1>Campaigns</h1><ul id="campaigns">{rows}</ul></main></body></html>')  # fmt: skip
        return HTMLResponse(page, headers=HEADERS)

    return MultiCampaignApp(campaigns, apps, index)
