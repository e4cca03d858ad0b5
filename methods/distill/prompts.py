"""The instructions of the pipeline: one for the students, three teacher variants.

Every explainer gets the same user message, the rendered recommendation context
(methods.distill.context.render_context); the system message says what to write.

- STUDENT_SYSTEM: the base student, the SFT and ORPO students (training and prediction) and
  the teacher's own explanations (variant 0: the SFT targets and the `distill-teacher` row).
- TEACHER_VARIANTS[1], [2]: the two alternatives per recommendation of the preference set
  (§1: "two alternative explanations, for each recommendation"). They differ in what they
  build on (the liked movies vs. what the movies share), so a cached endpoint teacher gives two
  genuinely different texts for one context (the reply cache keys on the messages).
"""

from __future__ import annotations

STUDENT_SYSTEM = (
    "You explain movie recommendations to a movie fan. From the recommender's reasons below, "
    "write a short explanation (2 or 3 sentences, at most 70 words) addressed to the user as "
    "'you', saying why they may enjoy the recommended movie. Use plain, friendly language; do "
    "not mention similarity values, scores, paths or how the recommender works."
)
TEACHER_VARIANTS = {
    0: STUDENT_SYSTEM,
    1: STUDENT_SYSTEM + " Build the explanation mainly on the movies the user liked.",
    2: STUDENT_SYSTEM
    + " Build the explanation mainly on what the movies have in common (people, genres, era).",
}


def messages(system: str, context_text: str) -> list[dict[str, str]]:
    return [{"role": "system", "content": system}, {"role": "user", "content": context_text}]
