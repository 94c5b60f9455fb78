"""The default tutorial, used while a project has no text of its own."""

from __future__ import annotations

# One line per class, keyed by the class names of reliability/classes.py.
EMOTION_HINTS: dict[str, str] = {
    "surprise": "Eyebrows raised and curved, eyes wide open, jaw dropped with the mouth open.",
    "fear": "Eyebrows raised and drawn together, upper eyelids raised, lips stretched back.",
    "disgust": "Nose wrinkled, upper lip raised, often with the lower lip pushed up.",
    "happiness": "Lip corners pulled up, cheeks raised, wrinkles at the outer eye corners.",
    "sadness": "Inner eyebrows raised, lip corners pulled down, eyelids drooping.",
    "anger": "Eyebrows lowered and pulled together, eyes glaring, lips pressed or mouth squared.",
    "neutral": "A relaxed face with no expression standing out.",
}

DEFAULT_TUTORIAL = """\
You will see one face at a time. Choose the ONE emotion that is most apparent on the face, \
even when you see a mix of several: pick the one that stands out most. There is no right \
answer to agree with; give your own honest first impression, quickly.

Judge the face only: ignore the background, clothes, the photo's caption or what you think \
the situation is. Faces may be small, turned, partly hidden or blurred; still choose the most \
apparent emotion when you can see the face. When there is no face, or you truly cannot see \
it, use "No face / can't see" instead of guessing.

Some images are check images with a known answer; they keep the quality of the data high and \
count towards your accuracy, not towards the dataset.

Keys: 1-7 choose an emotion, 0 or R reports "no face / can't see"."""
