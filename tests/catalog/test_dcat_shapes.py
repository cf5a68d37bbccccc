"""The DCAT description written at publishing validates against DCAT 3 and DCAT-AP 3.0 SHACL shapes.

The shapes live in docs/shapes/ (written from the two specifications); rdflib reads the JSON-LD with its inline
context (nothing is fetched) and pyshacl validates it. Each mutation below reintroduces one defect the earlier
descriptions had, or drops one mandatory property, and must be reported, so the shapes are not vacuous.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pyshacl
import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCAT, DCTERMS, RDF, XSD

from datagora.domain.canonical import canonical_json
from datagora.domain.errors import ValidationError
from datagora.domain.models import DatasetDescription
from datagora.services.publishing import (
    EU_DATA_THEME,
    dcat_description,
    market_access_url,
    media_type_iri,
    theme_iri,
)
from tests import REPO_ROOT

SHAPES_DIR = REPO_ROOT / "docs" / "shapes"
PUBLISHER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
MARKET = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
DESCRIPTION = DatasetDescription("health", "Admissions 2024", "age,ward,length_of_stay", 52_000, b"\x11" * 32)


def describe(chain_id: int = 31337, **overrides: Any) -> dict[str, Any]:
    args: dict[str, Any] = {
        "description": DESCRIPTION,
        "publisher": PUBLISHER,
        "media_type": "text/csv",
        "byte_size": 1_234_567,
        "chain_id": chain_id,
        "access_url": market_access_url(chain_id, MARKET),
    }
    args.update(overrides)
    return dcat_description(**args)


def graph_of(doc: dict[str, Any]) -> Graph:
    return Graph().parse(data=json.dumps(doc), format="json-ld")


@pytest.fixture(scope="module")
def shapes() -> dict[str, Graph]:
    return {name: Graph().parse(SHAPES_DIR / f"{name}.ttl", format="turtle") for name in ("dcat3", "dcat-ap-3")}


def violations(doc: dict[str, Any], shapes: Graph) -> str:
    """pyshacl's report text when ``doc`` does not conform, else the empty string."""
    conforms, _, text = pyshacl.validate(graph_of(doc), shacl_graph=shapes, inference="none")
    return "" if conforms else str(text)


@pytest.mark.parametrize("profile", ["dcat3", "dcat-ap-3"])
@pytest.mark.parametrize("domain", ["health", "finance", "imagery", "no such theme"])
@pytest.mark.parametrize("media_type", ["text/csv", "image/png", "application/octet-stream"])
def test_description_conforms(shapes: dict[str, Graph], profile: str, domain: str, media_type: str) -> None:
    description = DatasetDescription(domain, "Survey", "a,b", 10, b"\x22" * 32)
    assert violations(describe(description=description, media_type=media_type), shapes[profile]) == ""


def test_description_as_rdf() -> None:
    """The triples a DCAT reader gets: resources where DCAT expects resources, typed literals where literals."""
    g = graph_of(describe(chain_id=11155111))
    (dataset,) = g.subjects(RDF.type, DCAT.Dataset)
    (distribution,) = g.objects(dataset, DCAT.distribution)
    assert g.value(dataset, DCAT.theme) == URIRef(EU_DATA_THEME + "HEAL")
    assert g.value(dataset, DCTERMS.publisher) == URIRef(f"did:pkh:eip155:11155111:{PUBLISHER}")
    assert isinstance(g.value(dataset, DCTERMS.description), Literal)
    assert g.value(distribution, DCAT.mediaType) == URIRef("https://www.iana.org/assignments/media-types/text/csv")
    assert (g.value(distribution, DCAT.mediaType), RDF.type, DCTERMS.MediaType) in g
    assert g.value(distribution, DCAT.byteSize) == Literal("1234567", datatype=XSD.nonNegativeInteger)
    assert g.value(distribution, DCAT.accessURL) == URIRef(f"ethereum:{MARKET}@11155111")
    assert "health" in {str(k) for k in g.objects(dataset, DCAT.keyword)}


def _set(path: tuple[str, ...], value: Any) -> Callable[[dict[str, Any]], None]:
    def apply(doc: dict[str, Any]) -> None:
        node = doc
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return apply


def _drop(path: tuple[str, ...]) -> Callable[[dict[str, Any]], None]:
    def apply(doc: dict[str, Any]) -> None:
        node = doc
        for key in path[:-1]:
            node = node[key]
        del node[path[-1]]

    return apply


DIST = "dcat:distribution"
# mutation -> (change, profile whose shapes must report it, a word of the report)
DEFECTS: dict[str, tuple[Callable[[dict[str, Any]], None], str, str]] = {
    "theme as a plain string": (_set(("dcat:theme",), "health"), "dcat3", "theme"),
    "media type as a plain string": (_set((DIST, "dcat:mediaType"), "text/csv"), "dcat3", "mediaType"),
    "media type not IANA": (
        _set((DIST, "dcat:mediaType"), {"@id": "http://example.org/csv", "@type": "dct:MediaType"}),
        "dcat3",
        "mediaType",
    ),
    "byte size as xsd:integer": (_set((DIST, "dcat:byteSize"), 1_234_567), "dcat3", "byteSize"),
    "negative byte size": (
        _set((DIST, "dcat:byteSize"), {"@value": "-1", "@type": "xsd:nonNegativeInteger"}),
        "dcat3",
        "byteSize",
    ),
    "access URL as a string": (_set((DIST, "dcat:accessURL"), "ethereum:0x1"), "dcat3", "accessURL"),
    "no description": (_drop(("dct:description",)), "dcat-ap-3", "description"),
    "no title": (_drop(("dct:title",)), "dcat-ap-3", "title"),
    "no access URL": (_drop((DIST, "dcat:accessURL")), "dcat-ap-3", "accessURL"),
    "publisher without a name": (_drop(("dct:publisher", "foaf:name")), "dcat-ap-3", "name"),
    "theme outside the EU vocabulary": (
        _set(("dcat:theme",), {"@id": "http://example.org/health", "@type": "skos:Concept"}),
        "dcat-ap-3",
        "theme",
    ),
}


@pytest.mark.parametrize("defect", sorted(DEFECTS))
def test_shapes_report_each_defect(shapes: dict[str, Graph], defect: str) -> None:
    change, profile, word = DEFECTS[defect]
    doc = copy.deepcopy(describe())
    assert violations(doc, shapes[profile]) == ""
    change(doc)
    report = violations(doc, shapes[profile])
    assert report and word in report


def test_publisher_names_the_real_chain() -> None:
    for chain_id in (1, 31337, 11155111):
        assert describe(chain_id)["dct:publisher"]["@id"] == f"did:pkh:eip155:{chain_id}:{PUBLISHER}"


def test_canonical_bytes_are_stable() -> None:
    doc = describe()
    assert canonical_json(doc) == canonical_json(json.loads(json.dumps(doc)))


def test_theme_and_media_type_iris() -> None:
    assert theme_iri("Health") == EU_DATA_THEME + "HEAL"
    assert theme_iri("basket weaving") is None
    assert media_type_iri("Text/CSV") == "https://www.iana.org/assignments/media-types/text/csv"


@pytest.mark.parametrize(
    "overrides",
    [{"chain_id": 0}, {"chain_id": True}, {"byte_size": -1}, {"media_type": "csv"}, {"access_url": ""}],
    ids=["chain 0", "chain bool", "negative size", "bad media type", "no access URL"],
)
def test_bad_input_is_validation_error(overrides: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        describe(**overrides)
