"""A small validator for the Swagger 1.1 models of ARI's api-docs.

``Models(spec_dir).validate(value, "Channel")`` returns a list of problems
(empty when ``value`` fits): required properties present, property types
right (string, int/long, double, boolean, Date, object, List[X], nested
models), inherited properties of events included (``Message`` -> ``Event`` ->
``StasisStart`` via ``subTypes``).  Extra properties are allowed, as Asterisk
itself sends some the models do not list.
"""
import glob
import json
import os
import re

_DATE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?[+-]\d{4}$")


class Models:
    def __init__(self, spec_dir):
        self.models = {}
        self.operations = []
        parents = {}
        for path in sorted(glob.glob(os.path.join(spec_dir, "*.json"))):
            with open(path) as f:
                doc = json.load(f)
            for name, model in doc.get("models", {}).items():
                self.models[name] = model
                for sub in model.get("subTypes", ()):
                    parents[sub] = name
            resource = os.path.basename(path)[:-5]
            for api in doc.get("apis", ()):
                for op in api.get("operations", ()):
                    self.operations.append((resource, api["path"], op))
        self.parents = parents

    def properties(self, name):
        chain = []
        while name is not None:
            chain.append(self.models[name])
            name = self.parents.get(name)
        props = {}
        for model in reversed(chain):
            props.update(model.get("properties", {}))
        return props

    def validate(self, value, type_name, where="$"):
        problems = []
        self._check(value, type_name, where, problems)
        return problems

    def _check(self, value, t, where, problems):
        if t.startswith("List[") and t.endswith("]"):
            if not isinstance(value, list):
                problems.append("%s: expected list, got %r" % (where, type(value).__name__))
                return
            for i, item in enumerate(value):
                self._check(item, t[5:-1], "%s[%d]" % (where, i), problems)
            return
        if t == "string":
            ok = isinstance(value, str)
        elif t in ("int", "long"):
            ok = isinstance(value, int) and not isinstance(value, bool)
        elif t == "double":
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        elif t == "boolean":
            ok = isinstance(value, bool)
        elif t == "Date":
            ok = isinstance(value, str) and bool(_DATE.match(value))
        elif t in ("object", "containers"):
            ok = isinstance(value, dict)
        elif t == "binary":
            ok = isinstance(value, (bytes, bytearray))
        elif t in self.models:
            if not isinstance(value, dict):
                problems.append("%s: expected %s object, got %r" % (where, t, type(value).__name__))
                return
            for name, prop in self.properties(t).items():
                if name not in value:
                    if prop.get("required"):
                        problems.append("%s: missing required %s.%s" % (where, t, name))
                    continue
                self._check(value[name], prop["type"], "%s.%s" % (where, name), problems)
            return
        else:
            problems.append("%s: unknown type %s" % (where, t))
            return
        if not ok:
            problems.append("%s: expected %s, got %r" % (where, t, value))
