import sys

from structnet.cli import main

sys.exit(main())
