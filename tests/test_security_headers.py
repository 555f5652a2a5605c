"""Headers that keep browsers from reading a response as something else than it is."""

from __future__ import annotations

import pytest
from conftest import EX
from flask.testing import FlaskClient

#: A path of every kind of answer: pages, data, query answers, errors, files.
PATHS = (
    "/",
    "/healthz",
    "/sparql",
    "/sparql?query=ASK%20%7B%7D",
    "/sparql?query=SELECT%20*%20%7B%3Fs%20%3Fp%20%3Fo%7D&format=xml",
    "/sparql?query=not%20sparql",
    "/queries",
    "/void",
    "/vocab",
    "/ui",
    "/dumps/collabkg.nt",
    f"/page/?iri={EX}alice",
    "/id/nothing/here",
    "/no/such/path",
)


@pytest.mark.parametrize("path", PATHS)
def test_every_response_forbids_sniffing(client: FlaskClient, path: str) -> None:
    response = client.get(path, headers={"Accept": "text/html"})
    response.close()
    assert response.headers["X-Content-Type-Options"] == "nosniff", response.status
