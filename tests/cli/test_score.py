"""`ift-desktop score` as the contract says: file format, JSON on stdout, exit 2 with one line on bad input."""

from __future__ import annotations

import json

import pytest
import sacrebleu
from rouge_score import rouge_scorer

from ift_desktop import cli


@pytest.fixture(autouse=True)
def only_score(monkeypatch):
    """Dispatch through cli.main with only this subcommand registered (the others import models)."""
    monkeypatch.setattr(cli, "COMMANDS", {"score": cli.COMMANDS["score"]})


def _run(capsys, *argv):
    code = cli.main(["score", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def _write(path, text, encoding="utf-8"):
    path.write_bytes(text.encode(encoding) if isinstance(text, str) else text)
    return str(path)


@pytest.mark.parametrize("stemmer", [True, False])
def test_json_equals_rouge_score_and_sacrebleu(tmp_path, capsys, stemmer):
    preds = ["cold cold cold cold", "outside cold it is", "", "sat down.\nThe cats"]
    refs = ["It is cold outside"] * 3 + ["The cat sat down."]
    p = _write(tmp_path / "p.txt", "\n".join(t.replace("\n", "\\n") for t in preds) + "\n")
    r = _write(tmp_path / "r.txt", "\n".join(t.replace("\n", "\\n") for t in refs) + "\n")
    code, out, err = _run(
        capsys, "--predictions", p, "--references", r, "--json", *([] if stemmer else ["--no-stemmer"])
    )
    assert code == 0 and err == ""
    result = json.loads(out)
    assert len(result["examples"]) == 4
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL", "rougeLsum"], use_stemmer=stemmer)
    for pred, ref, example in zip(preds, refs, result["examples"]):
        expected = scorer.score(ref, pred)
        for key, value in expected.items():
            assert example[key] == {"precision": value.precision, "recall": value.recall, "fmeasure": value.fmeasure}
        assert example["bleu"] == sacrebleu.sentence_bleu(pred, [ref]).score
        assert set(example["overlap"]["matches"]) == {"rouge1", "rouge2", "rougeL", "bleu1", "bleu2", "bleu3", "bleu4"}
    # the newline escape reached ROUGE-Lsum: the last pair is scored sentence by sentence
    assert result["examples"][3]["rougeL"]["fmeasure"] == 0.5
    assert result["examples"][3]["rougeLsum"]["fmeasure"] == (1.0 if stemmer else 0.75)
    corpus = sacrebleu.corpus_bleu(preds, [refs])
    assert result["corpus"]["bleu"]["score"] == corpus.score
    assert result["corpus"]["bleu"]["signature"].startswith("nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp")
    assert result["settings"]["use_stemmer"] is stemmer


def test_several_reference_files_give_several_references(tmp_path, capsys):
    p = _write(tmp_path / "p.txt", "the cat sat\na dog\n")
    r1 = _write(tmp_path / "r1.txt", "a cat sat on the mat\nthe dog barked\n")
    r2 = _write(tmp_path / "r2.txt", "the cat\ndogs\n")
    code, out, _ = _run(capsys, "--predictions", p, "--references", r1, "--references", r2, "--json")
    assert code == 0
    result = json.loads(out)
    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)
    assert (
        result["examples"][0]["rougeL"]["fmeasure"]
        == scorer.score_multi(["a cat sat on the mat", "the cat"], "the cat sat")["rougeL"].fmeasure
    )
    assert "nrefs:2" in result["corpus"]["bleu"]["signature"]
    assert (
        result["corpus"]["bleu"]["score"]
        == sacrebleu.corpus_bleu(
            ["the cat sat", "a dog"], [["a cat sat on the mat", "the dog barked"], ["the cat", "dogs"]]
        ).score
    )


def test_table_without_json(tmp_path, capsys):
    p = _write(tmp_path / "p.txt", "cold cold cold cold\n\n")
    r = _write(tmp_path / "r.txt", "It is cold outside\nIt is cold outside\n")
    code, out, _ = _run(capsys, "--predictions", p, "--references", r)
    assert code == 0
    assert "ROUGE-L" in out and "BLEU" in out and "nrefs:1" in out and "95% interval" in out
    assert "1 of 2 predictions are empty" in out  # the empty line is an empty prediction, kept and scored 0


def test_empty_lines_crlf_and_bom(tmp_path, capsys):
    p = _write(tmp_path / "p.txt", b"\xef\xbb\xbfit is cold\r\n\r\nwarm\r\n")
    r = _write(tmp_path / "r.txt", "It is cold outside\nsomething\nwarm\n")
    code, out, _ = _run(capsys, "--predictions", p, "--references", r, "--json")
    assert code == 0
    result = json.loads(out)
    assert [t[0] for t in result["examples"][0]["overlap"]["tokens"]["bleu"]["prediction"]] == ["it", "is", "cold"]
    assert result["examples"][1]["rouge1"]["fmeasure"] == 0.0
    assert result["examples"][2]["rouge1"]["fmeasure"] == 1.0


@pytest.mark.parametrize(
    "pred_text, ref_text, expected",
    [
        ("a\nb\nc\n", "a\nb\n", "has 3 lines but the references file"),
        ("", "a\n", "is empty"),
        (b"ok\nbad \xff byte\n", "a\nb\n", "not UTF-8 text (line 2"),
    ],
)
def test_bad_input_exits_2_with_one_line(tmp_path, capsys, pred_text, ref_text, expected):
    p = _write(tmp_path / "p.txt", pred_text)
    r = _write(tmp_path / "r.txt", ref_text)
    code, out, err = _run(capsys, "--predictions", p, "--references", r, "--json")
    assert code == 2 and out == ""
    assert err.startswith("error: ") and expected in err and err.count("\n") == 1
    if "lines" in expected:
        assert "2" in err  # both counts are named


def test_missing_file_exits_2(tmp_path, capsys):
    r = _write(tmp_path / "r.txt", "a\n")
    code, _, err = _run(capsys, "--predictions", str(tmp_path / "nope.txt"), "--references", r)
    assert code == 2 and "nope.txt was not found" in err and err.count("\n") == 1


def test_non_utf8_references_name_the_file(tmp_path, capsys):
    p = _write(tmp_path / "p.txt", "a\n")
    r = _write(tmp_path / "refs.txt", b"\xe9t\xe9\n")
    code, _, err = _run(capsys, "--predictions", p, "--references", r)
    assert code == 2 and "refs.txt is not UTF-8" in err and "line 1" in err


def test_missing_required_argument_exits_2(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["score", "--predictions", "p.txt"])
    assert exc.value.code == 2
    assert "--references" in capsys.readouterr().err
