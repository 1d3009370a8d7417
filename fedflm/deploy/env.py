"""Environment variables by which ``fedflm server start`` tells the ServerApp
(started by Flower's SuperExec, which inherits the SuperLink's environment)
that it runs in a deployment. Secrets never go into the run config: only the
*path* of the checkpoint key file travels, and only in the environment."""

DEPLOYMENT = "FEDFLM_DEPLOYMENT"  # "1" in a deployment
CHECKPOINT_KEY_FILE = "FEDFLM_CHECKPOINT_KEY_FILE"  # path of the server's checkpoint key
RESUME = "FEDFLM_RESUME"  # "1": continue from RUN/checkpoint.fedflm
MAX_SKIPPED_ROUNDS = "FEDFLM_MAX_SKIPPED_ROUNDS"  # consecutive rounds below min_clients before the run ends
TRANSPORT = "FEDFLM_TRANSPORT"  # "tls" or "insecure": recorded in summary.json, warned in the report
