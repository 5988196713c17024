import os
import warnings

import pytest

warnings.filterwarnings("ignore", message=".*BLAS.*")

SHARED = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "shared"))


@pytest.fixture(scope="session")
def shared_dir():
    if not os.path.isdir(SHARED):
        pytest.skip("../shared is not beside this checkout")
    return SHARED
