// near-api-js (from npm, unmodified) against a NEAR JSON-RPC node; run by tests/localnet/test_conformance.py.
//
// Usage: node conformance.mjs '<json>' with {rpcUrl, networkId, accountId, secretKey, contractId, depositYocto}.
// Connects, views the account and the contract, sends one function call with a deposit, reads its outcome back
// (getTransactionLastResult and provider.txStatus), makes one call that panics, and prints one JSON object.
import nearApi from "near-api-js";

const { connect, keyStores, KeyPair, providers } = nearApi;

function errorSummary(error) {
  return { name: error?.constructor?.name ?? "Error", type: error?.type ?? null, message: String(error?.message ?? error) };
}

async function main() {
  const input = JSON.parse(process.argv[2]);
  const keyStore = new keyStores.InMemoryKeyStore();
  await keyStore.setKey(input.networkId, input.accountId, KeyPair.fromString(input.secretKey));
  const near = await connect({ networkId: input.networkId, nodeUrl: input.rpcUrl, keyStore });
  const provider = near.connection.provider;
  const account = await near.account(input.accountId);

  const status = await provider.status();
  const state = await account.state();
  const keys = await account.getAccessKeys();
  const balance = await account.getAccountBalance(); // EXPERIMENTAL_protocol_config + view_account
  const gasPrice = await provider.gasPrice(null);
  const validators = await provider.validators(null);
  const before = await account.viewFunction({ contractId: input.contractId, methodName: "get", args: {} });

  const outcome = await account.functionCall({
    contractId: input.contractId,
    methodName: "set",
    args: { from: "near-api-js" },
    gas: 30_000_000_000_000n,
    attachedDeposit: BigInt(input.depositYocto),
  });
  const returned = providers.getTransactionLastResult(outcome);
  const logs = outcome.receipts_outcome.flatMap((r) => r.outcome.logs);
  const looked = await provider.txStatus(outcome.transaction.hash, input.accountId, "FINAL");
  const after = await account.viewFunction({ contractId: input.contractId, methodName: "get", args: {} });
  const block = await provider.block({ blockId: outcome.transaction_outcome.block_hash });
  const chunk = await provider.chunk(block.chunks[0].chunk_hash);
  const contractState = await new nearApi.Account(near.connection, input.contractId).viewState("");

  let panic = null;
  try {
    await account.functionCall({ contractId: input.contractId, methodName: "fail", args: {} });
  } catch (error) {
    panic = errorSummary(error);
  }
  let missing = null;
  try {
    await provider.query({ request_type: "view_account", finality: "final", account_id: "nobody-here." + input.accountId });
  } catch (error) {
    missing = errorSummary(error);
  }

  const result = {
    chainId: status.chain_id,
    amount: state.amount,
    keyCount: keys.length,
    balance,
    gasPrice: gasPrice.gas_price,
    validators: validators.current_validators.map((v) => v.account_id),
    before,
    txHash: outcome.transaction.hash,
    status: outcome.status,
    deposit: outcome.transaction.actions[0].FunctionCall.deposit,
    returned,
    logs,
    lookedUpStatus: looked.status,
    lookedUpFinal: looked.final_execution_status ?? null,
    after,
    blockHeight: block.header.height,
    chunkTransactions: chunk.transactions.map((t) => t.hash),
    contractState: contractState.map(({ key, value }) => [Buffer.from(key).toString(), Buffer.from(value).toString()]),
    panic,
    missing,
  };
  process.stdout.write(JSON.stringify(result) + "\n");
}

main().catch((error) => {
  process.stdout.write(JSON.stringify({ fatal: errorSummary(error), stack: String(error?.stack ?? "") }) + "\n");
  process.exit(1);
});
