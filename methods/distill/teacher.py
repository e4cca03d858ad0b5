"""Step 3: the teacher that writes explanations from the recommendation context.

Albert et al. (§1) prompt Gemini 2.5 Flash with the intrinsic and post-hoc explanations: one
explanation per recommendation for the SFT set (1,250) and two alternatives per recommendation
for the preference set. `variant` 0 is the SFT / reference explanation, 1 and 2 are the two
alternatives (methods.distill.prompts.TEACHER_VARIANTS).

- `EndpointTeacher` (real mode): any OpenAI-compatible chat model (Gemini through its
  OpenAI-compatible endpoint, GPT-4.x, a local vLLM), through bench.backbones.chat_client's client: retries,
  bounded concurrency and the SQLite reply cache, so a rerun or a second method of the
  pipeline never pays twice for one explanation.
- `TemplateTeacher` (offline stand-in, reported as `template-teacher`): deterministic
  templates that verbalise the same facts — the nearest liked movies, the top explanation paths
  said to the user ("it shares a director with Casino (1995)"), the genres — with an
  evaluative adjective, phrasing drawn by a generator seeded from (user, item, variant, seed).
  It exists so the pipeline and its tests run without a network. Its two alternatives are
  genuinely different: variant 1 builds on 1–3 liked movies (no paths), variant 2 on 0–2
  explanation paths (0 gives a vague, ungrounded text), so the judge has something to prefer.
"""

from __future__ import annotations

import hashlib
import logging
import random
import re
from collections.abc import Sequence
from typing import Any, Protocol

from bench.backbones.replies import budget_warning, reply_problems
from methods.distill.context import PathFact, RecommendationContext, render_context
from methods.distill.prompts import TEACHER_VARIANTS

log = logging.getLogger(__name__)

ADJECTIVES = (
    "charming", "delightful", "compelling", "entertaining", "clever", "wonderful", "engaging",
    "thrilling", "exciting", "beautiful", "powerful", "brilliant", "heartwarming", "fun",
)  # fmt: skip


class Teacher(Protocol):
    name: str

    def explain(self, contexts: Sequence[RecommendationContext], variant: int) -> list[str]: ...

    def describe(self) -> dict[str, Any]: ...


def _rng(ctx: RecommendationContext, variant: int, seed: int) -> random.Random:
    key = f"{ctx.user_id}|{ctx.item_id}|{variant}|{seed}".encode()
    return random.Random(int.from_bytes(hashlib.sha256(key).digest()[:8], "big"))


def _and(items: Sequence[str]) -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def path_clause(path: PathFact, title: str) -> str:
    """A path's sentence said to the user: the recommended title becomes "it"."""
    text = path.text.split(": ", 1)[1] if ": " in path.text else path.text
    if text.startswith(title):
        text = "it" + text[len(title) :]
    else:
        text = re.sub(rf"\b{re.escape(title)}$", "it", text)
    return text.replace("another viewer", "a viewer with your taste")


class TemplateTeacher:
    """The documented offline stand-in for the teacher LLM (module docstring)."""

    name = "template-teacher"

    def __init__(self, seed: int = 0):
        self.seed = seed

    def describe(self) -> dict[str, Any]:
        return {"teacher": self.name, "kind": "templates (offline stand-in)", "seed": self.seed}

    def explain(self, contexts: Sequence[RecommendationContext], variant: int) -> list[str]:
        if variant not in TEACHER_VARIANTS:
            raise ValueError(f"teacher variant must be one of {sorted(TEACHER_VARIANTS)}, got {variant}")
        return [self._one(ctx, variant) for ctx in contexts]

    # -- sentences ----------------------------------------------------------------------
    def _liked(self, rng: random.Random, ctx: RecommendationContext, k: int) -> str:
        titles = [n.title for n in ctx.neighbours[:k]]
        if not titles:
            return f"{ctx.title} fits the kind of movies you rate highly."
        forms = (
            "Since you enjoyed {liked}, {title} should be right up your alley.",
            "You liked {liked}, so {title} is a great next pick for you.",
            "Fans of {liked} tend to love {title}, and you are one of them.",
        )
        return rng.choice(forms).format(liked=_and(titles), title=ctx.title)

    def _paths(self, rng: random.Random, ctx: RecommendationContext, k: int) -> list[str]:
        out = []
        for n, path in enumerate(ctx.paths[:k]):
            clause = path_clause(path, ctx.title)
            if n == 0:
                form = rng.choice(("{c}, which makes it a natural follow-up.", "On top of that, {c}."))
            else:
                form = rng.choice(("Also, {c}.", "And {c}."))
            sentence = form.format(c=clause)
            out.append(sentence[0].upper() + sentence[1:])
        return out

    def _genre(self, rng: random.Random, ctx: RecommendationContext) -> str:
        adjective = rng.choice(ADJECTIVES)
        genres = _and([g.lower() for g in ctx.genres[:2]]) or "feature"
        article = "an" if adjective[0] in "aeiou" else "a"
        form = rng.choice((
            "It is {a} {adj} {genres} film worth your evening.",
            "Expect {a} {adj} {genres} film you will enjoy.",
        ))  # fmt: skip
        return form.format(a=article, adj=adjective, genres=genres)

    def _one(self, ctx: RecommendationContext, variant: int) -> str:
        rng = _rng(ctx, variant, self.seed)
        if variant == 0:
            parts = [self._liked(rng, ctx, 2), *self._paths(rng, ctx, 1), self._genre(rng, ctx)]
        elif variant == 1:
            parts = [self._liked(rng, ctx, rng.choice((1, 2, 3)))]
            if rng.random() < 0.5:
                parts.append(self._genre(rng, ctx))
        else:
            k = rng.choice((0, 1, 2))
            if k == 0 or not ctx.paths:
                adjective = rng.choice(ADJECTIVES)
                parts = [f"{ctx.title} is a {adjective} pick that many viewers enjoy."]
            else:
                parts = [f"Here is why {ctx.title} suits you.", *self._paths(rng, ctx, k)]
        return " ".join(parts)


class EndpointTeacher:
    """A teacher LLM behind an OpenAI-compatible endpoint (real mode)."""

    def __init__(self, client: Any):
        self.client = client
        self.name = f"teacher:{client.settings.model}"
        self.problems: dict[int, dict[str, int]] = {}  # variant -> empty / cut replies

    def describe(self) -> dict[str, Any]:
        from bench.backbones.chat_client import PromptTemplate

        return {
            "teacher": self.name, "kind": "endpoint",
            "variants": {v: self.client.version(PromptTemplate(f"distill-teacher-v{v}", s, "{context}"))
                         for v, s in TEACHER_VARIANTS.items()},
            "reply_problems": self.problems,  # empty / cut replies per variant (max_tokens)
        }  # fmt: skip

    def explain(self, contexts: Sequence[RecommendationContext], variant: int) -> list[str]:
        from bench.backbones.chat_client import PromptTemplate

        template = PromptTemplate(f"distill-teacher-v{variant}", TEACHER_VARIANTS[variant], "{context}")
        replies = self.client.complete(template, [{"context": render_context(c)} for c in contexts])
        texts = [(r or "").strip() for r in replies]
        self.problems[variant] = reply_problems(texts)
        warning = budget_warning(f"{self.name} (variant {variant})", self.problems[variant], len(texts),
                                 self.client.settings.max_tokens, "model.teacher_max_tokens")  # fmt: skip
        if warning:
            log.warning(warning)
        return texts


def endpoint_teacher(base_url: str, model: str, *, api_key_env: str | None = "OPENAI_API_KEY",
                     max_tokens: int = 160, temperature: float = 0.7,
                     cache_path: str | None = None) -> EndpointTeacher:  # fmt: skip
    from bench.backbones.chat_client import JudgeClient, JudgeSettings

    settings = JudgeSettings(base_url=base_url, model=model, api_key_env=api_key_env,
                             max_tokens=max_tokens, temperature=temperature, cache_path=cache_path)  # fmt: skip
    return EndpointTeacher(JudgeClient(settings))
