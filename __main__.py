"""The brickwall program: one secured Azure Databricks environment per stack.

The spec comes from stacks/<stack>.py, or from a JSON/YAML file named by the config key
brickwall:specFile. Spec problems stop the program before any resource is registered.
"""

from components import collector

collector.tune()  # first: the imports below allocate as the registrations do (components/collector.py)

import pulumi  # noqa: E402

import stacks  # noqa: E402
from components.environment import AzureSettings, SecureDatabricksEnvironment  # noqa: E402
from components.spec import SpecError  # noqa: E402
from components.spec.rules import advisories  # noqa: E402
from stacks import config as stack_config  # noqa: E402


def main() -> None:
    spec_file = pulumi.Config("brickwall").get("specFile")
    try:
        spec = stacks.load_file(spec_file) if spec_file else stacks.load(pulumi.get_stack())
    except (SpecError, stacks.UnknownStackError, stacks.SpecFileError) as exc:
        # RunError: Pulumi prints the message without a traceback.
        raise pulumi.RunError(str(exc)) from None

    for note in advisories(spec):
        pulumi.log.warn(note)

    azure = pulumi.Config("azure-native")
    config = pulumi.Config("brickwall")
    if missing := stack_config.missing_keys(spec, config):
        raise pulumi.RunError(
            "set these stack config values first: "
            + ", ".join(f"pulumi config set {'--secret ' if k in stack_config.required_secret_keys(spec) else ''}{k} ..."
                        for k in missing)
        )
    for key in stack_config.SECRET_KEYS:
        if config.get(key) is not None and not pulumi.runtime.is_config_secret(f"brickwall:{key}"):
            pulumi.log.warn(f"brickwall:{key} is set in plain text; it is a credential: remove it from the stack file and "
                            f"run `pulumi config set --secret {key} ...` (it is then stored encrypted)")
    if problems := stack_config.value_problems(spec, config):
        raise pulumi.RunError("stack config values that would not work: " + "; ".join(problems))
    env = SecureDatabricksEnvironment(
        spec.name,
        spec,
        AzureSettings(
            subscription_id=azure.get("subscriptionId"),
            tenant_id=azure.get("tenantId"),
            databricks_client_id=config.get("databricksClientId"),
            databricks_client_secret=config.get_secret("databricksClientSecret"),
            databricks_account_id=config.get(stack_config.DATABRICKS_ACCOUNT_ID),
            kubeconfig=config.get_secret(stack_config.KUBECONFIG),
            kubelogin_mode=stack_config.kubelogin_mode(config),
        ),
        stack_config.ingress_secrets(spec, config) if spec.plan.parts.ingress else None,
    )
    pulumi.export("workspaceUrl", env.workspace_url)
    pulumi.export("workspaceResourceId", env.workspace_resource_id)
    pulumi.export("workspaceId", env.workspace_id)
    pulumi.export("maxClusterNodes", spec.network.max_cluster_nodes)
    pulumi.export("subnets", {k: str(v) for k, v in spec.plan.subnets.subnets.items()})
    if env.serverless is not None and env.serverless.rules:
        # Each serverless private endpoint lands pending on its storage account: the owner approves it (docs/audit-data-keys.md, "Data sources").
        pulumi.export("serverlessEndpointApprovals", env.serverless.approvals)


main()
