"""The published ALTO v4.4 schema, as the tests ship it (tests/common/outputs/schemas/): lxml validates
against it with the xlink schema it imports resolved to the file beside it, never fetched."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from lxml import etree

SCHEMAS = Path(__file__).parents[1] / "common" / "outputs" / "schemas"
XLINK_URL = "http://www.loc.gov/standards/xlink/xlink.xsd"


class LocalSchemas(etree.Resolver):
    """The xlink schema the ALTO schema imports by URL, from the file beside it: no network."""

    def resolve(self, url, pubid, context):
        if url == XLINK_URL:
            return self.resolve_filename(str(SCHEMAS / "xlink.xsd"), context)
        if Path(url).parent == SCHEMAS:  # the schema file itself, as lxml opens it
            return None
        raise AssertionError(f"the schema asks for {url}, which the tests do not ship")


@lru_cache(maxsize=1)
def alto_schema() -> etree.XMLSchema:
    parser = etree.XMLParser(no_network=True)
    parser.resolvers.add(LocalSchemas())
    return etree.XMLSchema(etree.parse(str(SCHEMAS / "alto-4-4.xsd"), parser))
