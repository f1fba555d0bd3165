"""The read-only result tables and the newest-first history lists that the tabs share."""

from __future__ import annotations

from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QListWidget, QTableWidget, QTableWidgetItem

HISTORY_SIZE = 50


def results_table(rows: int, headers: tuple) -> QTableWidget:
    table = QTableWidget(rows, len(headers))
    table.setHorizontalHeaderLabels(list(headers))
    table.verticalHeader().setVisible(False)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
    return table


def fill_results(table: QTableWidget, rows: list) -> None:
    table.clearContents()
    for r, values in enumerate(rows[: table.rowCount()]):
        for c, value in enumerate(values):
            table.setItem(r, c, QTableWidgetItem(str(value)))


def add_to_history(history: QListWidget, text: str) -> None:
    """`text` on top; the oldest lines beyond `HISTORY_SIZE` are dropped."""
    history.insertItem(0, text)
    while history.count() > HISTORY_SIZE:
        history.takeItem(history.count() - 1)
