"""The annotation web app (FastAPI, server-rendered Jinja templates, no front-end build).

    GET  /a/<token>          consent, then instructions (when the folder has them), then the
                             annotator's next item: practice, real or gold (bench.annotate.assignment);
                             crowd-platform ids in the query are kept (bench.annotate.crowd)
    POST /a/<token>/answer   one answer; 303 back to the page, which serves the next item
    POST /a/<token>/undo     take back the last answer; its item is served again
    POST /a/<token>/consent, /a/<token>/instructions   "I agree" / "Start"
    GET  /a/<token>/instructions   the instructions again, any time
    GET  /s/<study token>    a crowd study's shared link: the participant id in the query
                             (PROLIFIC_PID, workerId) becomes an annotator (or resumes one)
    GET  /admin              progress per annotator, agreement so far, export (HTTP Basic,
                             failed logins rate-limited per client)
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
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

import jinja2
from fastapi import Depends, FastAPI, Form, HTTPException, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from fastapi.security import HTTPBasic, HTTPBasicCredentials
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException

from bench.annotate.campaign import PAGES, Campaign, new_token, token_digest
from bench.annotate.crowd import MTURK_PREVIEW, crowd_ids, participant
from bench.annotate.export import export_campaign, summary
from bench.annotate.pages import render_markdown
from bench.annotate.security import (
    ADMIN_PASSWORD_ENV,
    CSRF_COOKIE,
    CSRF_FIELD,
    HEADERS,
    TRUST_PROXY_ENV,
    LoginLimiter,
    admin_refusal,
    csrf_ok,
    is_https,
    new_csrf_token,
)
from bench.annotate.store import PRACTICE, Annotator, Rejected

HERE = Path(__file__).parent
MAX_COMMENT = 2000
SHOW_CHARS = 1500  # characters of an explanation shown before its "show more" control


def _templates() -> Jinja2Templates:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,  # every {{ }} is escaped: a <script> in an explanation shows as text
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return Jinja2Templates(env=env)


def create_app(campaign: Campaign, admin_password: str | None = None,
               trust_proxy: bool | None = None) -> FastAPI:  # fmt: skip
    """The app for one campaign; `admin_password` defaults to $ERBENCH_ANNOTATE_ADMIN_PASSWORD,
    `trust_proxy` (honour X-Forwarded-Proto from a TLS reverse proxy) to
    $ERBENCH_ANNOTATE_TRUST_PROXY=1."""
    if admin_password is None:
        admin_password = os.environ.get(ADMIN_PASSWORD_ENV, "")
    if trust_proxy is None:
        trust_proxy = os.environ.get(TRUST_PROXY_ENV) == "1"
    store, task = campaign.store, campaign.task
    templates = _templates()
    limiter = LoginLimiter()
    pages = {name: campaign.page_text(name) for name in PAGES}  # read once, at start
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

    def with_csrf(request: Request, response: Response, csrf: str) -> Response:
        response.set_cookie(CSRF_COOKIE, csrf, httponly=True, samesite="lax", path="/",
                            secure=is_https(request, trust_proxy))  # fmt: skip
        return response

    def check_csrf(request: Request, csrf: str) -> None:
        if not csrf_ok(request.cookies.get(CSRF_COOKIE), csrf):
            raise HTTPException(
                403, "This form expired or came from another site; reload the page."
            )

    @app.get("/")
    def home(request: Request) -> Response:
        return page(
            request, "message.html", title="Open the link you were sent to start.", link=None
        )

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> Response:
        return FileResponse(HERE / "static" / "favicon.svg", media_type="image/svg+xml")

    @app.get("/s/{study}")
    def study(request: Request, study: str) -> Response:
        """A crowd study's one link: each participant id becomes (or resumes) an annotator."""
        platform = store.study_link(token_digest(study))
        if platform is None:
            raise HTTPException(403, "This study link is not valid for this campaign.")
        ids = crowd_ids(request.query_params)
        who = participant(platform, ids)
        if who is None or ids.get("assignmentId") == MTURK_PREVIEW:
            return page(request, "message.html", 400 if who is None else 200,
                        title="Open this study from the platform's page: the link must carry "
                        "your participant id." if who is None else
                        "Accept the task to start it.", link=None)  # fmt: skip
        token = new_token()
        name = store.participant(platform, who)
        if name is None:
            store.add_annotators(1, [token_digest(token)], platform=platform, participant_id=who)
        else:  # a returning participant: a fresh token, the same annotator and answers
            store.replace_token(name, token_digest(token))
        query = "&".join(f"{k}={v}" for k, v in ids.items())  # values match ID_PATTERN
        return RedirectResponse(f"/a/{token}?{query}", status_code=303)

    def item_page(request: Request, token: str, annotator: Annotator, csrf: str) -> Response:
        served = store.serve(annotator)
        if served is None:
            return page(request, "done.html", answered=store.answered_by(annotator),
                        completion=campaign.completion, token=token, csrf_field=CSRF_FIELD,
                        csrf=csrf)  # fmt: skip
        explanations = [served.item.explanation_a, served.item.explanation_b]
        if not served.a_on_left:
            explanations.reverse()
        return page(
            request,
            f"{task.name}.html",
            token=token,
            served=served,
            item=served.item,
            practice=served.item.kind == PRACTICE,
            left=explanations[0],
            right=explanations[1],
            context=served.item.context,
            choices=task.choices,
            csrf_field=CSRF_FIELD,
            csrf=csrf,
            max_comment=MAX_COMMENT,
            show_chars=SHOW_CHARS,
            can_undo=served.position > 1,
            has_instructions=pages["instructions"] is not None,
        )

    @app.get("/a/{token}")
    def next_item(request: Request, token: str) -> Response:
        annotator = annotator_of(token)
        ids = crowd_ids(request.query_params)
        if ids and ids != {k: v for k, v in (annotator.crowd or {}).items() if k in ids}:
            annotator = replace(annotator, crowd={**(annotator.crowd or {}), **ids})
            store.set_crowd(annotator, annotator.crowd or {})
        csrf = request.cookies.get(CSRF_COOKIE) or new_csrf_token()
        for name, done in (("consent", annotator.consented),
                           ("instructions", annotator.instructed)):  # fmt: skip
            if pages[name] is not None and not done:
                response = page(request, "step.html", step=name, body=render_markdown(pages[name]),
                                token=token, csrf_field=CSRF_FIELD, csrf=csrf)  # fmt: skip
                return with_csrf(request, response, csrf)
        return with_csrf(request, item_page(request, token, annotator, csrf), csrf)

    @app.get("/a/{token}/instructions")
    def instructions(request: Request, token: str) -> Response:
        annotator_of(token)
        if pages["instructions"] is None:
            raise HTTPException(404, "This campaign has no instructions.")
        return page(request, "step.html", step="instructions-again", token=token,
                    body=render_markdown(pages["instructions"]))  # fmt: skip

    def step_route(step: str) -> None:
        def agree(
            request: Request, token: str, csrf: Annotated[str, Form(alias=CSRF_FIELD)] = ""
        ) -> Response:
            annotator = annotator_of(token)
            check_csrf(request, csrf)
            if step == "undo":
                store.undo(annotator)
            else:
                store.mark(annotator, step)
            return RedirectResponse(f"/a/{token}", status_code=303)

        app.post(f"/a/{{token}}/{step}")(agree)

    for step in (*PAGES, "undo"):
        step_route(step)

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
        check_csrf(request, csrf)
        if answer not in task.answers:
            raise HTTPException(400, f"Unknown answer {answer!r}.")
        if not item.isdigit():
            raise HTTPException(400, "The form names no item.")
        if len(comment) > MAX_COMMENT:
            raise HTTPException(400, f"The comment is longer than {MAX_COMMENT} characters.")
        try:
            recorded = store.record_answer(annotator, int(item), nonce, answer, comment.strip())
        except Rejected as exc:
            return page(request, "message.html", exc.status, title=str(exc), link=f"/a/{token}")
        if recorded.kind == PRACTICE and recorded.expected:
            labels = {c.value: c.label for c in task.choices}
            right = answer in recorded.expected
            told = " or ".join(labels[e] for e in recorded.expected)
            return page(request, "message.html", title="Practice: " + (
                f"yes, {told}." if right else f"the expected answer was {told}."),
                link=f"/a/{token}")  # fmt: skip
        return RedirectResponse(f"/a/{token}", status_code=303)

    def admin_only(
        request: Request, credentials: HTTPBasicCredentials | None = Depends(basic)
    ) -> None:
        client = limiter.client(request, trust_proxy)
        given = credentials.password if credentials is not None else None
        refusal = admin_refusal(admin_password, given, client, limiter)
        if refusal:
            raise HTTPException(refusal[0], refusal[1], headers=refusal[2])

    @app.get("/admin", dependencies=[Depends(admin_only)])
    def admin(request: Request) -> Response:
        return page(
            request,
            "admin.html",
            campaign=campaign,
            summary=summary(campaign),
            progress=store.progress(),
            total=store.count_items(),
            shared=campaign.policy.per_item is not None,
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
