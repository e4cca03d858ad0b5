"""The annotation web app (FastAPI, server-rendered Jinja templates, no front-end build).

    GET  /a/<token>          the annotator's next item (arena battle or coherence item)
    POST /a/<token>/answer   one answer; 303 back to the page, which serves the next item
    GET  /admin              progress per annotator, agreement so far, export (HTTP Basic)
    GET  /admin/export.zip   the files `bench annotate export` writes, as one zip

Every text is HTML-escaped by Jinja's autoescape (explanations are model output). Handlers
are plain functions: FastAPI runs them in its thread pool and each opens its own SQLite
connection (bench.annotate.store serialises the writes).
"""

from __future__ import annotations

import io
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Annotated, Any

import jinja2
from fastapi import Depends, FastAPI, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.security import HTTPBasic, HTTPBasicCredentials
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException

from bench.annotate.campaign import Campaign, token_digest
from bench.annotate.export import export_campaign, summary
from bench.annotate.security import (
    ADMIN_PASSWORD_ENV,
    CSRF_COOKIE,
    CSRF_FIELD,
    HEADERS,
    admin_password_ok,
    csrf_ok,
    new_csrf_token,
)
from bench.annotate.store import Annotator, Rejected

HERE = Path(__file__).parent
MAX_COMMENT = 2000


def _templates() -> Jinja2Templates:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,  # every {{ }} is escaped: a <script> in an explanation shows as text
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return Jinja2Templates(env=env)


def create_app(campaign: Campaign, admin_password: str | None = None) -> FastAPI:
    """The app for one campaign; `admin_password` defaults to $ERBENCH_ANNOTATE_ADMIN_PASSWORD."""
    if admin_password is None:
        admin_password = os.environ.get(ADMIN_PASSWORD_ENV, "")
    store, task = campaign.store, campaign.task
    templates = _templates()
    app = FastAPI(title="erbench annotation", docs_url=None, redoc_url=None, openapi_url=None)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    basic = HTTPBasic(realm="erbench annotation admin", auto_error=False)

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Any) -> Response:
        response = await call_next(request)
        response.headers.update(HEADERS)
        return response

    def page(request: Request, name: str, status: int = 200, **context: Any) -> Response:
        return templates.TemplateResponse(
            request, name, {"task": task.name, **context}, status_code=status
        )

    @app.exception_handler(StarletteHTTPException)
    def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        response = page(request, "message.html", exc.status_code, title=str(exc.detail), link=None)
        response.headers.update(getattr(exc, "headers", None) or {})
        return response

    def annotator_of(token: str) -> Annotator:
        annotator = store.annotator(token_digest(token))
        if annotator is None:
            raise HTTPException(403, "This link is not valid for this campaign.")
        return annotator

    @app.get("/")
    def home(request: Request) -> Response:
        return page(
            request, "message.html", title="Open the link you were sent to start.", link=None
        )

    @app.get("/a/{token}")
    def next_item(request: Request, token: str) -> Response:
        annotator = annotator_of(token)
        served = store.serve(annotator)
        csrf = request.cookies.get(CSRF_COOKIE) or new_csrf_token()
        if served is None:
            total = store.count_items()
            response = page(request, "done.html", total=total)
        else:
            explanations = [served.item.explanation_a, served.item.explanation_b]
            if not served.a_on_left:
                explanations.reverse()
            response = page(
                request,
                f"{task.name}.html",
                token=token,
                served=served,
                item=served.item,
                left=explanations[0],
                right=explanations[1],
                context=served.item.context,
                choices=task.choices,
                csrf_field=CSRF_FIELD,
                csrf=csrf,
                max_comment=MAX_COMMENT,
            )
        response.set_cookie(CSRF_COOKIE, csrf, httponly=True, samesite="lax", path="/")
        return response

    @app.post("/a/{token}/answer")
    def answer(
        request: Request,
        token: str,
        item: Annotated[str, Form()] = "",
        nonce: Annotated[str, Form()] = "",
        answer: Annotated[str, Form()] = "",
        comment: Annotated[str, Form()] = "",
        csrf: Annotated[str, Form(alias=CSRF_FIELD)] = "",
    ) -> Response:
        annotator = annotator_of(token)
        if not csrf_ok(request.cookies.get(CSRF_COOKIE), csrf):
            raise HTTPException(
                403, "This form expired or came from another site; reload the page."
            )
        if answer not in task.answers:
            raise HTTPException(400, f"Unknown answer {answer!r}.")
        if not item.isdigit():
            raise HTTPException(400, "The form names no item.")
        if len(comment) > MAX_COMMENT:
            raise HTTPException(400, f"The comment is longer than {MAX_COMMENT} characters.")
        try:
            store.record_answer(annotator, int(item), nonce, answer, comment.strip())
        except Rejected as exc:
            return page(request, "message.html", exc.status, title=str(exc), link=f"/a/{token}")
        return RedirectResponse(f"/a/{token}", status_code=303)

    def admin_only(credentials: HTTPBasicCredentials | None = Depends(basic)) -> None:
        if not admin_password:
            raise HTTPException(
                404, f"The admin page is off: set {ADMIN_PASSWORD_ENV} to turn it on."
            )
        if credentials is None or not admin_password_ok(admin_password, credentials.password):
            raise HTTPException(
                401,
                "The admin page needs the password.",
                headers={"WWW-Authenticate": 'Basic realm="erbench annotation admin"'},
            )

    @app.get("/admin", dependencies=[Depends(admin_only)])
    def admin(request: Request) -> Response:
        return page(
            request,
            "admin.html",
            campaign=campaign,
            summary=summary(campaign),
            progress=store.progress(),
            total=store.count_items(),
        )

    @app.get("/admin/export.zip", dependencies=[Depends(admin_only)])
    def admin_export() -> Response:
        buffer = io.BytesIO()
        with tempfile.TemporaryDirectory() as tmp, zipfile.ZipFile(buffer, "w") as archive:
            for path in export_campaign(campaign, tmp):
                archive.write(path, path.name)
        return Response(
            buffer.getvalue(),
            media_type="application/zip",
            headers={"Content-Disposition": f'attachment; filename="{campaign.path.name}.zip"'},
        )

    return app
