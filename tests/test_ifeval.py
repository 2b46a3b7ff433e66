"""IFEval's checkers: every instruction type on hand-made answers, the reward, and Google's GPT-4 check."""

import json
from pathlib import Path

import pytest

from hybridthink.ifeval import check, ifeval_reward, instruction_types

BENCHMARKS = Path(__file__).resolve().parents[2] / "shared" / "benchmarks"

FRENCH = "Bonjour, je m'appelle Marie et j'habite à Paris depuis dix ans avec ma famille."
ENGLISH = "The quick brown fox jumps over the lazy dog while the farmer watches from the porch."
# instruction id -> (kwargs, an answer that follows it, an answer that does not)
CASES = {
    "keywords:existence": ({"keywords": ["apple", "river"]}, "An apple fell into the river.", "An apple fell."),
    "keywords:frequency": ({"keyword": "cat", "frequency": 3, "relation": "at least"},
                           "cat and cat and another cat", "one cat, two cats"),
    "keywords:forbidden_words": ({"forbidden_words": ["red", "blue"]}, "The sky is grey.", "The sky is Blue today."),
    "keywords:letter_frequency": ({"letter": "z", "let_frequency": 2, "let_relation": "less than"},
                                  "A lazy afternoon.", "Jazz in a zoo."),
    "language:response_language": ({"language": "fr"}, FRENCH, ENGLISH),
    "length_constraints:number_sentences": ({"num_sentences": 2, "relation": "less than"},
                                            "Just one sentence here.", "One. Two. Three."),
    "length_constraints:number_paragraphs": ({"num_paragraphs": 2}, "First part.\n***\nSecond part.",
                                             "First part.\n\nSecond part."),
    "length_constraints:number_words": ({"num_words": 5, "relation": "at least"}, "one two three four five six",
                                        "one two three"),
    "length_constraints:nth_paragraph_first_word": ({"num_paragraphs": 2, "nth_paragraph": 2, "first_word": "then"},
                                                    "We started early.\n\nThen we walked home.",
                                                    "We started early.\n\nAfter that we walked home."),
    "detectable_content:number_placeholders": ({"num_placeholders": 2}, "Dear [name], see you at [address].",
                                               "Dear [name], see you soon."),
    "detectable_content:postscript": ({"postscript_marker": "P.S."}, "Thanks for the help.\n\nP.S. See you soon.",
                                      "Thanks for the help."),
    "detectable_format:number_bullet_lists": ({"num_bullets": 2}, "* milk\n* bread", "* milk\n* bread\n* eggs"),
    "detectable_format:constrained_response": ({}, "My answer is yes.", "Yes, definitely."),
    "detectable_format:number_highlighted_sections": ({"num_highlights": 2}, "*first point* and *second point*",
                                                      "*first point* and nothing else"),
    "detectable_format:multiple_sections": ({"section_spliter": "Section", "num_sections": 2},
                                            "Section 1\nIntro.\nSection 2\nBody.", "Section 1\nIntro and body."),
    "detectable_format:json_format": ({}, '```json\n{"a": 1}\n```', "a is 1"),
    "detectable_format:title": ({}, "<<A Day Out>>\nWe went out.", "A Day Out\nWe went out."),
    "combination:two_responses": ({}, "Tea is good.\n******\nCoffee is better.", "Tea is good."),
    "combination:repeat_prompt": ({"prompt_to_repeat": "Name a fruit."}, "Name a fruit. An apple.",
                                  "An apple. Name a fruit."),
    "startend:end_checker": ({"end_phrase": "Any other questions?"}, "That is all. Any other questions?",
                             "Any other questions? That is all."),
    "change_case:capital_word_frequency": ({"capital_frequency": 2, "capital_relation": "at least"},
                                           "This is VERY VERY important.", "This is VERY important."),
    "change_case:english_capital": ({}, ENGLISH.upper(), ENGLISH),
    "change_case:english_lowercase": ({}, ENGLISH.lower(), ENGLISH),
    "punctuation:no_comma": ({}, "No commas here at all.", "Well, here is one."),
    "startend:quotation": ({}, '"Wrapped in quotes."', "Not wrapped."),
}


def test_cases_cover_all_25_instruction_types():
    assert len(instruction_types()) == 25
    assert set(CASES) == set(instruction_types())


@pytest.mark.parametrize("instruction_id", sorted(CASES))
def test_checker_keeps_and_rejects(instruction_id):
    kwargs, good, bad = CASES[instruction_id]
    prompt = kwargs.get("prompt_to_repeat", "")
    assert check(good, [instruction_id], [kwargs], prompt)[0].strict
    assert not check(bad, [instruction_id], [kwargs], prompt)[0].strict


def test_loose_forgives_a_preamble_line():
    verdict = check("Sure, here it is:\n<<Title>>", ["detectable_format:title", "punctuation:no_comma"], [{}, {}])
    assert [(v.strict, v.loose) for v in verdict] == [(True, True), (False, True)]


def test_reward_routes_scores_and_refuses_unknown_ids():
    prompts = [[{"role": "user", "content": "Say hi without commas."}]] * 4
    completions = ["<think>\nok\n</think>\n\nhi there", "<think>\nok\n</think>\n\nhi, there", "<think>\nhi there",
                   "anything"]
    ids = [["punctuation:no_comma", "keywords:existence"], ["punctuation:no_comma"], ["punctuation:no_comma"], None]
    kwargs = [json.dumps([{}, {"keywords": ["hi"], "unused": None}]), [{}], [{}], None]
    assert ifeval_reward(prompts, completions, ids, kwargs) == [1.0, 0.0, 0.0, None]
    with pytest.raises(ValueError, match="number_lines"):
        ifeval_reward(prompts[:1], completions[:1], [["length_constraints:number_lines"]], [[{}]])
    with pytest.raises(ValueError, match="one per instruction"):
        ifeval_reward(prompts[:1], completions[:1], [["punctuation:no_comma"]], [[{}, {}]])


def test_gpt4_responses_match_the_ifeval_paper():
    """Google released GPT-4's responses with IFEval; its paper (Table 3) reports 76.89% prompt-level
    strict accuracy on them, i.e. 416 of 541 prompts. These checkers must agree within two prompts."""
    inputs = {}
    for line in open(BENCHMARKS / "ifeval_input.jsonl", encoding="utf-8"):
        row = json.loads(line)
        inputs[row["prompt"]] = row
    followed = 0
    for line in open(BENCHMARKS / "ifeval_gpt4_responses.jsonl", encoding="utf-8"):
        response = json.loads(line)
        row = inputs[response["prompt"]]
        followed += all(v.strict for v in check(response["response"], row["instruction_id_list"], row["kwargs"],
                                                row["prompt"]))
    assert abs(followed - 416) <= 2, followed
