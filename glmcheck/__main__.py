import sys

from glmcheck.cli import main

sys.exit(main())
