import pytest

from structnet.h36m import fixtures


@pytest.fixture(scope="session")
def official_root(tmp_path_factory):
    """A small official-release tree (see fixtures.official_tree) and its truth."""
    root = tmp_path_factory.mktemp("h36m-official")
    return root, fixtures.official_tree(str(root))


@pytest.fixture(scope="session")
def fetch_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("h36m-fetch")
    return root, fixtures.fetch_tree(str(root))
