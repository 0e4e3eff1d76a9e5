import sys

from framelogic.queries.cli import main

sys.exit(main())
