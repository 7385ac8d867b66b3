"""Help → Getting started: the five pages in the order a first run uses them, and what that run costs."""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTextBrowser, QVBoxLayout

# What a first run costs on the project's development machine (2 CPU cores, no GPU, torch 2.13 CPU): the
# conversion and the 60-step figures as measured there in 2026-11 (../shared/DESIGN.md), the 8-step run and the
# evaluation measured with scripts/screenshots_readme.py on 2026-12-02 (see the README).
FIRST_RUN_COSTS = (
    ("converting the built-in model, once (later starts reuse it)", "about 20 seconds"),
    ("a first 8-step LoRA run on the dialogue sample, from Start to the saved adapter", "about 2.5 minutes"),
    ("evaluating base and fine-tuned model on 10 test examples", "about 2 minutes"),
    (
        "a longer LoRA run on dialogue summaries",
        "about 105 tokens per second: 60 steps of 4 examples take "
        "about 10 minutes and lifted ROUGE-L from 0.199 to 0.342 on 40 "
        "DialogSum test dialogues",
    ),
)

STEPS = (
    (
        "Data",
        "Pick a file, a Hugging Face dataset or the built-in sample; map its columns to a task; choose a "
        "phrasing (template); split it; check the token lengths; save it. The sample is ready on first start.",
    ),
    (
        "Playground",
        "Ask the base model with 0, 1 or a few solved examples in the prompt, to see how far prompting "
        "alone gets before you pay for training.",
    ),
    (
        "Train",
        "Pick the dataset you saved (it is preselected), keep LoRA and the defaults, press Start training. "
        "Watch the loss fall and the probe answers change; Pause or Stop at any time.",
    ),
    (
        "Evaluate",
        "Press Evaluate this run (or pick the run here): base and fine-tuned model answer the test "
        "examples; the cards say whether the difference is real, the Examples tab shows why.",
    ),
    (
        "Runs",
        "Every run stays in your workspace: compare runs' curves and settings, export the adapter or a merged model.",
    ),
)


def getting_started_html() -> str:
    steps = "".join(f"<li><b>{name}</b> — {text}</li>" for name, text in STEPS)
    costs = "".join(f"<li>{what}: <b>{cost}</b></li>" for what, cost in FIRST_RUN_COSTS)
    return (
        "<h3>Getting started</h3>"
        "<p>The pages on the left, top to bottom, are the order of a first fine-tuning:</p>"
        f"<ol>{steps}</ol>"
        "<h4>What a first run costs</h4>"
        "<p>Measured on a 2-core CPU without a GPU; a GPU is many times faster:</p>"
        f"<ul>{costs}</ul>"
        "<p>Nothing needs the network on this path: the built-in model and the sample ship with the app. "
        "Try the sample first; a real dataset takes longer in proportion to its size and the number of steps.</p>"
    )


def show_getting_started(parent) -> QDialog:
    dialog = QDialog(parent)
    dialog.setWindowTitle("Getting started")
    dialog.resize(620, 560)
    layout = QVBoxLayout(dialog)
    text = QTextBrowser()
    text.setOpenExternalLinks(False)
    text.setHtml(getting_started_html())
    layout.addWidget(text, 1)
    buttons = QDialogButtonBox(QDialogButtonBox.Close)
    buttons.rejected.connect(dialog.close)
    layout.addWidget(buttons)
    dialog.show()
    return dialog
