// Validations made offline, kept in IndexedDB until synced (a reload or a crash loses none).

const DATABASE = "passculture-desk";
const STORE = "offline-validations";

function open() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DATABASE, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE, { keyPath: "key" });
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

async function run(mode, action) {
  const database = await open();
  try {
    return await new Promise((resolve, reject) => {
      const transaction = database.transaction(STORE, mode);
      const request = action(transaction.objectStore(STORE));
      transaction.oncomplete = () => resolve(request.result);
      transaction.onerror = () => reject(transaction.error);
    });
  } finally {
    database.close();
  }
}

/** An account's validation of a booking: one per booking and account. */
export const keyOf = (account, bookingId) => `${account}|${bookingId}`;

/** The account's validations waiting to be synced, oldest first. */
export async function pending(account) {
  const all = await run("readonly", (store) => store.getAll());
  return all
    .filter((entry) => entry.account === account)
    .sort((a, b) => a.validated_at.localeCompare(b.validated_at));
}

export const find = (key) => run("readonly", (store) => store.get(key));
export const add = (entry) => run("readwrite", (store) => store.add(entry));
export const remove = (key) => run("readwrite", (store) => store.delete(key));
