"""The teacher of the RLAIF pipeline: the template stand-in writes grounded, deterministic,
user-facing explanations and two genuinely different alternatives per recommendation; the
endpoint teacher and judge send one prompt per variant / order through a judge client."""

from methods.distill.context import NeighbourFact, PathFact, RecommendationContext, render_context
from methods.distill.teacher import EndpointTeacher, TemplateTeacher, path_clause
from metrics.explanation_style import technical_terms
from metrics.pairwise_judge import EndpointPairwiseJudge, judge_swapped

PATH = PathFact("the user liked Casino (1995): Heat (1995) shares a director with Casino (1995)",
                ("user:u", "movie:m1", "entity:e1", "movie:r"), ("liked", "d", "d"), 0.8, 0.25, 1.0, 2.0,
                ("Casino (1995)",))  # fmt: skip
CTX = RecommendationContext(
    "u", "r", "Heat (1995)", ("Action", "Crime"),
    neighbours=(NeighbourFact("m1", "Casino (1995)", 0.41), NeighbourFact("m2", "Ronin (1998)", 0.3),
                NeighbourFact("m3", "Fargo (1996)", 0.2)),
    paths=(PATH,),
)  # fmt: skip


def test_path_clause_speaks_to_the_user():
    assert path_clause(PATH, "Heat (1995)") == "it shares a director with Casino (1995)"


def test_template_teacher_is_deterministic_grounded_and_user_facing():
    teacher = TemplateTeacher(seed=0)
    [reference] = teacher.explain([CTX], 0)
    assert teacher.explain([CTX], 0) == [reference]
    assert "Heat (1995)" in reference and "Casino (1995)" in reference and "you" in reference.lower()
    assert technical_terms(reference) == 0  # no similarity values, no "user", no "path"
    first, second = teacher.explain([CTX], 1)[0], teacher.explain([CTX], 2)[0]
    assert first != second and first != reference
    # across recommendations the two alternatives differ in what they build on
    many = [RecommendationContext(f"u{k}", "r", CTX.title, CTX.genres, neighbours=CTX.neighbours, paths=CTX.paths)
            for k in range(20)]  # fmt: skip
    ones, twos = teacher.explain(many, 1), teacher.explain(many, 2)
    assert all("Since you enjoyed" in t or "You liked" in t or "Fans of" in t for t in ones)
    assert any("director" in t for t in twos) and not any("director" in t for t in ones)


class FakeClient:
    """What the endpoint classes use of bench.backbones.chat_client.JudgeClient: settings.model and
    .max_tokens, version(), complete(template, inputs)."""

    class settings:  # noqa: N801
        model = "fake-model"
        max_tokens = 160

    def __init__(self, replies):
        self.replies = list(replies)
        self.calls = []

    def version(self, template):
        return {"prompt_sha256": template.sha256}

    def complete(self, template, inputs):
        self.calls.append((template, list(inputs)))
        return [self.replies.pop(0) for _ in inputs]


def test_endpoint_teacher_sends_one_prompt_per_variant():
    client = FakeClient(["first text", "second text"])
    teacher = EndpointTeacher(client)
    assert teacher.explain([CTX], 1) == ["first text"] and teacher.explain([CTX], 2) == ["second text"]
    (t1, in1), (t2, in2) = client.calls
    assert in1 == in2 == [{"context": render_context(CTX)}]
    assert t1.sha256 != t2.sha256 and "liked" in t1.system and "in common" in t2.system
    assert teacher.name == "teacher:fake-model" and set(teacher.describe()["variants"]) == {0, 1, 2}


def test_endpoint_judge_parses_replies_in_both_orders():
    client = FakeClient(["**A**", "B.", "Explanation B", "TIE"])  # x-y, p-q, then y-x, q-p
    judge = EndpointPairwiseJudge(client)
    kept, rejected = judge_swapped(judge, [("ctx", (), "x", "y"), ("ctx", (), "p", "q")])
    assert kept.preferred == "x" and rejected.outcome == "rejected_both"
    [(template, inputs)] = client.calls
    assert [(i["first"], i["second"]) for i in inputs] == [("x", "y"), ("p", "q"), ("y", "x"), ("q", "p")]
    assert "BOTH_BAD" in template.system and judge.name == "judge:fake-model"


def test_endpoint_teacher_counts_empty_and_cut_replies(caplog):
    """Gemini 2.5 Flash spends max_tokens on thinking: a reply can come back empty or cut."""
    client = FakeClient(["", "It shares a director with Casino and", "A fine pick."])
    teacher = EndpointTeacher(client)
    assert teacher.explain([CTX, CTX, CTX], 0) == ["", "It shares a director with Casino and", "A fine pick."]
    assert teacher.describe()["reply_problems"] == {0: {"empty": 1, "cut": 1}}
    assert "1 of 3 replies empty and 1 stopping mid-sentence" in caplog.text
    assert "raise model.teacher_max_tokens" in caplog.text


def test_the_paper_profiles_give_the_thinking_teacher_room():
    from bench.config import resolve
    from bench.identity import effective_config

    for method in ("orpo-distill", "sft-distill", "distill-teacher"):
        _, params = effective_config(resolve(method, "ml-32m", profile="paper"))
        assert params.teacher_model == "gemini-2.5-flash" and params.teacher_max_tokens == 1024
