from payments.models import Base
from pclib.migrations import run_env

run_env(Base.metadata)
