"""Merge a JSON {msgid: translation} file into a catalog: python scripts/apply-translations.py ja FILE.json...

Only empty entries are filled (existing translations win); fuzzy flags are cleared for filled ones.
Afterwards run: pybabel compile -d app/translations
"""
import json
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

locale, files = sys.argv[1], sys.argv[2:]
path = Path("app/translations") / locale / "LC_MESSAGES" / "messages.po"
catalog = read_po(path.open("rb"), locale=locale)
table: dict[str, str] = {}
for name in files:
    table.update(json.loads(Path(name).read_text(encoding="utf-8")))
filled = missing = 0
for message in catalog:
    if not message.id:
        continue
    key = message.id if isinstance(message.id, str) else message.id[0]
    current = message.string if isinstance(message.string, str) else (message.string or ("",))[0]
    if current:
        continue
    if key in table:
        message.string = table[key] if isinstance(message.id, str) else (table[key],)
        message.flags.discard("fuzzy")
        filled += 1
    else:
        missing += 1
with path.open("wb") as out:
    write_po(out, catalog, width=100)
print(f"{locale}: filled {filled}, still missing {missing}")
