"""``ocrq submit --wait``'s progress on stderr: a bar of files, and the pages of multi-page documents."""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import Any

from ocrq.client import Job

BAR_DELAY = 0.5  # seconds before a bar shows: a command that fails at once prints its one line alone


def file_bar(total: int, disable: bool):
    from tqdm import tqdm

    return tqdm(total=total, unit="file", disable=disable or total < 2, file=sys.stderr, dynamic_ncols=True,
                delay=BAR_DELAY)


class PageProgress:
    """Pages of multi-page documents as they finish: a bar of pages when one document is sent alone,
    else ``name done/total pages`` beside the bar of files. Called from the client's threads."""

    def __init__(self, files, single: bool, disable: bool) -> None:
        self.files = files
        self.single = single
        self.disable = disable
        self.bar: Any = None
        self.lock = threading.Lock()

    def update(self, path, job: Job) -> None:
        progress = job.progress
        if not progress or self.disable:
            return
        with self.lock:
            if not self.single:
                name = Path(str(path)).name
                self.files.set_postfix_str(f"{name} {progress['done']}/{progress['total']} pages")
                return
            if self.bar is None:
                from tqdm import tqdm

                self.bar = tqdm(total=progress["total"], unit="page", desc=Path(str(path)).name,
                                file=sys.stderr, dynamic_ncols=True)
            self.bar.update(progress["done"] - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
