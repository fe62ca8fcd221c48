"""A TCP proxy the tests put between the service and PostgreSQL, to cut the line."""

import socket
import threading


class CuttableProxy:
    """Forwards 127.0.0.1:<port> to the target until `cut()`, again after `restore()`.

    While cut, open connections are reset and new ones are closed at once, as a
    database behind a failed network link or a restarting server looks.
    """

    def __init__(self, target: tuple[str, int]):
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.cut_off = threading.Event()
        self.closing = False
        self.lock = threading.Lock()
        self.open: set[socket.socket] = set()
        threading.Thread(target=self._accept, daemon=True).start()

    def cut(self) -> None:
        self.cut_off.set()
        with self.lock:
            for sock in self.open:
                _shut(sock)
            self.open.clear()

    def restore(self) -> None:
        self.cut_off.clear()

    def close(self) -> None:
        self.closing = True
        self.cut()
        self.listener.close()

    def _accept(self) -> None:
        while not self.closing:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.cut_off.is_set():
                _shut(client)
                continue
            try:
                upstream = socket.create_connection(self.target)
            except OSError:
                _shut(client)
                continue
            with self.lock:
                self.open.update((client, upstream))
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                _shut(sock)
            with self.lock:
                self.open.discard(source)
                self.open.discard(sink)


def _shut(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()
