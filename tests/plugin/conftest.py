"""pytester's in-process runs restore sys.modules afterwards, dropping modules first imported inside them;
numpy's C core refuses a second import in one process. Importing the pipeline's numeric modules here, before
any inner run, keeps them loaded however xdist distributes the tests."""

import numpy  # noqa: F401

import pytest_agorabench.metrics.pgr  # noqa: F401
