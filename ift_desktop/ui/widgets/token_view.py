""" "What the model will see": a templated example drawn token by token in two colours.

Prompt tokens are masked during training (no loss) and completion tokens are trained on; the
view colours them differently, alternates the shade of neighbouring tokens so that token
boundaries are visible, marks special tokens in bold, and strikes out the tokens that a max
length would drop. :func:`token_pieces` turns token ids into displayable pieces (it needs a
tokenizer but no Qt); :class:`TokenView` draws them with a legend.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import QHBoxLayout, QLabel, QTextBrowser, QVBoxLayout, QWidget

from ift_desktop.ui.widgets.flow_layout import FlowLayout, flow_policy

PROMPT_COLOURS = ("#dde4ee", "#c5d1e2")  # masked prompt tokens: blue-grey, two shades
COMPLETION_COLOURS = ("#ffd9a8", "#ffc078")  # trained completion tokens: amber, two shades
CUT_COLOUR = "#eeeeee"
CUT_TEXT = "#9a9a9a"


@dataclass
class TokenPiece:
    text: str
    trained: bool  # a completion token (counted in the loss) vs a masked prompt token
    special: bool = False
    cut: bool = False  # past the max length: dropped before the model sees it


def _decode_groups(tokenizer, ids: list[int]) -> list[tuple[str, bool]]:
    """Decode ``ids`` one by one; tokens that are only part of a character are joined until whole."""
    special_ids = set(getattr(tokenizer, "all_special_ids", []) or [])
    out: list[tuple[str, bool]] = []
    i = 0

    def decode(part: list[int]) -> str:
        return tokenizer.decode(part, skip_special_tokens=False, clean_up_tokenization_spaces=False)

    def whole(text: str) -> bool:  # byte-level tokenizers give "" or "\ufffd" for part of a character
        return bool(text) and "\ufffd" not in text

    while i < len(ids):
        j, text = i + 1, decode(ids[i : i + 1])
        if not whole(text) and ids[i] not in special_ids:
            for k in range(i + 2, min(len(ids), i + 4) + 1):
                joined = decode(ids[i:k])
                if whole(joined):
                    j, text = k, joined
                    break
        out.append((text, ids[i] in special_ids))
        i = j
    return out


def token_pieces(
    tokenizer,
    prompt_ids: list[int],
    completion_ids: list[int],
    *,
    max_length: int | None = None,
    is_seq2seq: bool = False,
) -> list[TokenPiece]:
    """Displayable pieces for a prompt/completion pair of token ids.

    For a causal model the two form one sequence and tokens at positions ``>= max_length`` are
    marked ``cut``; for a seq2seq model the encoder input and the labels are truncated
    separately.
    """
    pieces: list[TokenPiece] = []
    for trained, ids in ((False, list(prompt_ids)), (True, list(completion_ids))):
        position_base = 0 if (is_seq2seq or not trained) else len(prompt_ids)
        position = position_base
        for text, special in _decode_groups(tokenizer, ids):
            pieces.append(TokenPiece(text, trained, special, cut=max_length is not None and position >= max_length))
            position += 1
    return pieces


def _piece_html(piece: TokenPiece, shade: int) -> str:
    text = html.escape(piece.text)
    text = text.replace("\n", "<span style='color:#8895a7'>↵</span>\n")
    if piece.cut:
        style = f"background:{CUT_COLOUR}; color:{CUT_TEXT}; text-decoration: line-through;"
    else:
        colours = COMPLETION_COLOURS if piece.trained else PROMPT_COLOURS
        style = f"background:{colours[shade % 2]};"
    if piece.special:
        style += " font-weight:bold;"
    return f'<span style="{style}">{text}</span>'


def pieces_html(pieces: list[TokenPiece]) -> str:
    parts = [_piece_html(piece, i) for i, piece in enumerate(pieces)]
    return (
        "<div style=\"white-space: pre-wrap; font-family: 'DejaVu Sans Mono', monospace; font-size: 10pt;\">"
        + "".join(parts)
        + "</div>"
    )


def _swatch(colour: str, label: str, *, strike: bool = False) -> QWidget:
    box = QWidget()
    row = QHBoxLayout(box)
    row.setContentsMargins(0, 0, 12, 0)
    row.setSpacing(6)
    chip = QLabel()
    chip.setFixedSize(14, 14)
    chip.setStyleSheet(f"background:{colour}; border:1px solid #888; border-radius:2px;")
    text = QLabel(f"<s>{label}</s>" if strike else label)
    row.addWidget(chip)
    row.addWidget(text)
    return box


class TokenView(QWidget):
    """A read-only text of coloured token pieces with a legend above it."""

    def __init__(self, parent=None):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        legend_box = QWidget()
        legend_box.setSizePolicy(flow_policy())
        legend = FlowLayout(legend_box)
        legend.addWidget(_swatch(PROMPT_COLOURS[1], "prompt — masked, no loss"))
        legend.addWidget(_swatch(COMPLETION_COLOURS[1], "completion — trained on"))
        legend.addWidget(_swatch(CUT_COLOUR, "past max length — dropped"))
        self.counts = QLabel()
        self.counts.setAlignment(Qt.AlignLeft | Qt.AlignVCenter)
        self.counts.setStyleSheet("color:#5b6472;")
        self.text = QTextBrowser()
        self.text.setOpenLinks(False)
        self.text.setLineWrapMode(QTextBrowser.WidgetWidth)
        layout.addWidget(legend_box)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.counts)
        self.pieces: list[TokenPiece] = []

    def set_pieces(self, pieces: list[TokenPiece]) -> None:
        self.pieces = list(pieces)
        self.text.setHtml(pieces_html(self.pieces))
        QTimer.singleShot(0, self.show_completion)  # once the new text is laid out
        n_prompt = sum(1 for p in self.pieces if not p.trained)
        n_completion = len(self.pieces) - n_prompt
        n_cut = sum(1 for p in self.pieces if p.cut)
        note = f" · {n_cut} dropped" if n_cut else ""
        self.counts.setText(f"{n_prompt} prompt + {n_completion} completion tokens{note}")

    def show_completion(self) -> None:
        """Scroll so the prompt's end and the completion's start are both in view."""
        first = next((i for i, p in enumerate(self.pieces) if p.trained), None)
        if first is None:
            return
        # characters before it in the shown text (each newline is shown as "↵" plus a line break)
        position = sum(len(p.text) + p.text.count("\n") for p in self.pieces[:first])
        cursor = QTextCursor(self.text.document())
        cursor.setPosition(min(position, self.text.document().characterCount() - 1))
        bar = self.text.verticalScrollBar()
        top = self.text.cursorRect(cursor).top() + bar.value()
        bar.setValue(max(0, top - self.text.viewport().height() // 2))

    def set_message(self, text: str) -> None:
        self.pieces = []
        self.counts.setText("")
        self.text.setPlainText(text)

    def plain_text(self) -> str:
        return "".join(p.text for p in self.pieces)
