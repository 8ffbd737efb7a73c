from classifier.prompt import SEPARATOR, build_prompt, label_name, label_token, strip_prompt


def test_prompt_is_stripped_text_plus_separator() -> None:
    assert build_prompt("  Go Leafs go!\n") == "Go Leafs go!" + SEPARATOR


def test_prompt_is_cut_to_bound() -> None:
    assert build_prompt("x" * 50, max_chars=10) == "x" * 10 + SEPARATOR


def test_prepared_prompt_keeps_one_separator() -> None:
    prompt = build_prompt("Home run" + SEPARATOR)
    assert prompt == "Home run" + SEPARATOR
    assert strip_prompt(prompt) == "Home run"


def test_label_token_round_trip() -> None:
    assert label_token("hockey") == " hockey"
    assert label_name(" hockey") == "hockey"
