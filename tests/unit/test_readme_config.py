"""Every setting of the service is documented in the README's configuration table."""

from __future__ import annotations

from pathlib import Path

from memory_service.config import Settings

README = Path(__file__).resolve().parents[2] / "README.md"


def test_every_setting_is_in_the_readme() -> None:
    text = README.read_text()
    missing = [name for name in Settings.model_fields if f"`MEMORY_{name.upper()}`" not in text]
    assert missing == [], f"settings missing from README.md's configuration table: {missing}"
