"""evaluate(): generation + scoring on a prepared split, with a model folder or a LoRA run."""

from __future__ import annotations

import json
import threading

import pytest
from tiny_models import make_lora_run, make_tiny_dataset, make_tiny_llama

from ift_desktop.core.errors import Cancelled, EvaluationError
from ift_desktop.core.evaluation.evaluate import evaluate, read_evaluation, write_evaluation
from ift_desktop.core.evaluation.generation import GenerationSettings
from ift_desktop.core.evaluation.metrics import score
from ift_desktop.core.models import ModelSpec, load_model
from ift_desktop.core.progress import TaskState


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("eval")
    base = make_tiny_llama(root / "llama", chat_template=True)
    data = make_tiny_dataset(root / "data", n=4, val=2, test=5)
    rows = [json.loads(line) for line in (data / "test.jsonl").read_text().splitlines()]
    rows[0]["references"] = [rows[0]["completion"], "Another way to say it.", "A third reference."]
    (data / "test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    run = make_lora_run(root / "run", base, config={"method": "lora"})
    return {"root": root, "base": base, "data": data, "run": run, "rows": rows}


def test_evaluate_model_writes_the_contract(tiny, tmp_path):
    result = evaluate(model=str(tiny["base"]), data_dir=tiny["data"], max_new_tokens=6, batch_size=2)
    assert result["split"] == "test" and result["run"] is None and result["model"] == str(tiny["base"])
    assert set(result["corpus"]) >= {"rouge1", "rouge2", "rougeL", "rougeLsum", "bleu"}
    assert len(result["examples"]) == 5
    first = result["examples"][0]
    for key in ("prompt", "prediction", "references", "rouge1", "rougeL", "bleu", "overlap"):
        assert key in first
    assert first["prompt"] == tiny["rows"][0]["prompt"]
    assert first["references"] == tiny["rows"][0]["references"]
    assert result["examples"][1]["references"] == [tiny["rows"][1]["completion"]]
    # the numbers are exactly score() of the same predictions and references
    again = score([e["prediction"] for e in result["examples"]], [e["references"] for e in result["examples"]])
    assert result["corpus"] == again["corpus"]
    assert [e["rougeL"] for e in result["examples"]] == [e["rougeL"] for e in again["examples"]]
    gen = result["generation"]
    assert gen["max_new_tokens"] == 6 and gen["decoding"] == "greedy" and gen["batch_size"] == 2
    assert gen["chat_template"] is True
    timings = result["timings"]
    assert timings["generate_s"] > 0 and timings["generated_tokens"] > 0 and timings["tokens_per_s"] > 0
    assert result["data"]["n_examples"] == 5 and result["data"]["manifest"]["task"] == "summarization"
    assert (
        result["created"] and result["confidence"]["metrics"]["rougeL"]["low"] <= result["corpus"]["rougeL"]["fmeasure"]
    )
    path = write_evaluation(result, tmp_path / "out" / "eval.json")
    assert read_evaluation(path) == json.loads(json.dumps(result))


def test_evaluate_lora_run_limit_and_stemming(tiny):
    result = evaluate(
        model=ModelSpec.parse(str(tiny["run"])),
        data_dir=tiny["data"],
        limit=2,
        settings=GenerationSettings(max_new_tokens=5),
        use_stemmer=False,
    )
    assert result["run"] == str(tiny["run"]) and result["model"] == str(tiny["base"])
    details = result["model_details"]
    assert details["method"] == "lora" and details["base_model"]["source"] == "local" and details["adapter_merged"]
    assert len(result["examples"]) == 2 and result["data"]["limit"] == 2
    assert result["use_stemmer"] is False and result["metric_settings"]["use_stemmer"] is False


def test_prompts_follow_the_runs_chat_template_choice(tiny):
    plain_run = make_lora_run(
        tiny["root"] / "plain-run", tiny["base"], config={"method": "lora", "use_chat_template": False}
    )
    result = evaluate(model=str(plain_run), data_dir=tiny["data"], limit=1, max_new_tokens=2)
    assert result["generation"]["chat_template"] is False and result["generation"]["use_chat_template"] is False
    forced = evaluate(
        model=str(plain_run),
        data_dir=tiny["data"],
        limit=1,
        settings=GenerationSettings(max_new_tokens=2, use_chat_template=True),
    )
    assert forced["generation"]["chat_template"] is True


def test_lora_adapter_changes_the_answers(tiny):
    base = evaluate(model=str(tiny["base"]), data_dir=tiny["data"], max_new_tokens=8)
    tuned = evaluate(model=str(tiny["run"]), data_dir=tiny["data"], max_new_tokens=8)
    assert [e["prediction"] for e in base["examples"]] != [e["prediction"] for e in tuned["examples"]]


def test_a_loaded_model_is_reused(tiny):
    loaded = load_model(ModelSpec.parse(str(tiny["base"])))
    result = evaluate(model=str(tiny["base"]), data_dir=tiny["data"], loaded=loaded, limit=1, max_new_tokens=3)
    assert result["timings"]["load_s"] == 0.0 and len(result["examples"]) == 1


def test_run_without_a_model_is_refused(tiny):
    empty = make_lora_run(tiny["root"] / "failed-run", tiny["base"], with_adapter=False)
    with pytest.raises(EvaluationError, match="no trained model"):
        evaluate(model=str(empty), data_dir=tiny["data"])


def test_bad_data_is_refused_before_loading(tiny, tmp_path):
    with pytest.raises(EvaluationError, match="does not exist"):
        evaluate(model=str(tiny["base"]), data_dir=tmp_path / "missing")
    with pytest.raises(EvaluationError, match="no 'nope' split"):
        evaluate(model=str(tiny["base"]), data_dir=tiny["data"], split="nope")
    empty = make_tiny_dataset(tmp_path / "empty", n=2, val=1, test=1)
    (empty / "test.jsonl").write_text("")
    with pytest.raises(EvaluationError, match="empty"):
        evaluate(model=str(tiny["base"]), data_dir=empty)


def test_progress_and_cancel(tiny):
    seen = []
    state = TaskState(on_progress=lambda f, m: seen.append((f, m)))
    evaluate(model=str(tiny["base"]), data_dir=tiny["data"], max_new_tokens=2, batch_size=2, state=state)
    fractions = [f for f, _ in seen if f is not None]
    assert fractions[-1] == 1.0 and any("Generating" in m for _, m in seen)
    cancelled = TaskState(cancel_event=threading.Event())
    cancelled.cancel()
    with pytest.raises(Cancelled):
        evaluate(model=str(tiny["base"]), data_dir=tiny["data"], state=cancelled)


@pytest.mark.slow
def test_builtin_model_on_dialogsum(shared_data, tmp_path):
    rows = [
        json.loads(line) for line in (shared_data / "dialogsum" / "dialogsum.test.jsonl").read_text().splitlines()[:3]
    ]
    data = make_tiny_dataset(tmp_path / "data", n=1, val=1, test=1)
    examples = [
        {
            "prompt": f"Summarize the following dialogue:\n\n{r['dialogue']}",
            "completion": r["summary1"],
            "references": [r["summary1"], r["summary2"], r["summary3"]],
            "task": "summarization",
        }
        for r in rows
    ]
    (data / "test.jsonl").write_text("".join(json.dumps(e) + "\n" for e in examples))
    result = evaluate(model="builtin", data_dir=data, max_new_tokens=24, batch_size=3)
    assert result["model"] == "builtin" and result["generation"]["chat_template"] is True
    assert len(result["examples"]) == 3 and result["corpus"]["rouge1"]["fmeasure"] > 0.05
    assert all(e["prediction"] and len(e["references"]) == 3 for e in result["examples"])
