"""Collection settings for the whole checkout (tests/conftest.py holds the tests' fixtures)."""

from __future__ import annotations

import importlib.util
import shutil

# sfn_offload.cdk imports aws-cdk-lib, which starts Node.js (jsii) as it is imported: where
# either is missing, its doctests cannot even be collected. tests/test_cdk.py skips with the
# reason instead.
_CDK_USABLE = shutil.which("node") is not None and importlib.util.find_spec("aws_cdk") is not None
collect_ignore_glob = [] if _CDK_USABLE else ["src/sfn_offload/cdk/*.py"]
