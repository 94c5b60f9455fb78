"""The one definition of RAF's emotion classes, shared by every part of the system.

Order and numbering follow the paper and the RAF-DB release: label ``k`` in RAF-DB files is
``index + 1`` here (1 surprise ... 7 neutral). Compound classes are named
"<dominant>ly <other>" and numbered 1..11 in RAF-DB's compound release, in the order below;
"fearfully disgusted" is the twelfth, dropped from the benchmark for having too few images.
"""

from __future__ import annotations

BASIC_EMOTIONS: tuple[str, ...] = (
    "surprise",
    "fear",
    "disgust",
    "happiness",
    "sadness",
    "anger",
    "neutral",
)
NEUTRAL = BASIC_EMOTIONS.index("neutral")

# Adverb used for the dominant emotion of a compound name.
ADVERBS: dict[str, str] = {
    "surprise": "surprisedly",
    "fear": "fearfully",
    "disgust": "disgustedly",
    "happiness": "happily",
    "sadness": "sadly",
    "anger": "angrily",
}
# Adjective used for the other emotion of a compound name.
ADJECTIVES: dict[str, str] = {
    "surprise": "surprised",
    "fear": "fearful",
    "disgust": "disgusted",
    "happiness": "happy",
    "sadness": "sad",
    "anger": "angry",
}

# RAF-DB compound release order (labels 1..11), then the dropped twelfth class.
COMPOUND_EMOTIONS: tuple[str, ...] = (
    "happily surprised",
    "happily disgusted",
    "sadly fearful",
    "sadly angry",
    "sadly surprised",
    "sadly disgusted",
    "fearfully angry",
    "fearfully surprised",
    "angrily surprised",
    "angrily disgusted",
    "disgustedly surprised",
    "fearfully disgusted",
)
COMPOUND_BENCHMARK: tuple[str, ...] = COMPOUND_EMOTIONS[:11]


def compound_name(first: str, second: str) -> str:
    """Name of the compound class made of two basic emotions, in the paper's convention.

    The pair is unordered: the paper's 12 names fix which emotion takes the adverb.
    Raises ``KeyError`` for a pair outside the paper's 12 compound classes.
    """
    for dominant, other in ((first, second), (second, first)):
        if dominant in ADVERBS and other in ADJECTIVES:
            name = f"{ADVERBS[dominant]} {ADJECTIVES[other]}"
            if name in COMPOUND_EMOTIONS:
                return name
    raise KeyError(f"no compound class for the pair ({first!r}, {second!r})")
