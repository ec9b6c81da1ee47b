import sys

from sct.cli import main

sys.exit(main())
